/**
 * The directory relative paths on the command line are relative to. A package manager runs a
 * package.json script in that package's directory and passes the user's own in INIT_CWD; only
 * the repository's `tessera` script (root package "tessera") should follow it. A user's own
 * script runs in their package's directory, which their paths already assume, and an installed
 * bin runs where the user is.
 */
export function userDirectory(env: NodeJS.ProcessEnv, cwd: string): string {
  const repositoryScript = env.npm_package_name === 'tessera' && env.npm_lifecycle_event === 'tessera';
  return repositoryScript && env.INIT_CWD ? env.INIT_CWD : cwd;
}
