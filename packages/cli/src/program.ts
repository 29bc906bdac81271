import { Command, CommanderError } from 'commander';
import { createRequire } from 'node:module';

/** Where the command line's own messages (usage errors, failures) go; tests capture them. */
export interface CliOutput {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** What the `tessera` binary adds to an in-process run (main.ts). */
export interface CliHooks {
  /** Registers the backends (cpu, workers, the browser ones) before a command that runs graphs is defined. */
  readonly loadBackends?: () => Promise<void>;
}

type AddCommand = (program: Command) => void;

/**
 * The subcommands, each imported only when named (or for help): `tessera summary` never loads
 * the backends, the conformance suite or the browser launcher, and starts fast. `backends`: the
 * command lists or runs backends, which must be registered before it is defined.
 */
const COMMANDS: readonly { name: string; backends?: boolean; load: () => Promise<AddCommand> }[] = [
  { name: 'summary', load: async () => (await import('./commands/summary.js')).summaryCommand },
  { name: 'run', backends: true, load: async () => (await import('./commands/run.js')).runCommand },
  { name: 'optimize', load: async () => (await import('./commands/optimize.js')).optimizeCommand },
  { name: 'export', load: async () => (await import('./commands/export.js')).exportCommand },
  { name: 'conformance', backends: true, load: async () => (await import('./commands/conformance.js')).conformanceCommand },
  { name: 'draw', load: async () => (await import('./commands/draw.js')).drawCommand },
];

const STDIO: CliOutput = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** This package's version (package.json sits one level above both src/ and dist/). */
export const VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/**
 * The `tessera` command with the subcommands `only` names (default: every one); usage errors
 * throw (exitOverride) instead of exiting.
 */
export async function createProgram(output: CliOutput = STDIO, only?: string, hooks: CliHooks = {}): Promise<Command> {
  const program = new Command('tessera')
    .description('Tessera: dataflow graphs for convolutional networks, checked on every backend')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError()
    // Set before the subcommands are added, which inherit both.
    .exitOverride()
    .configureOutput({ writeOut: output.out, writeErr: output.err });
  const wanted = COMMANDS.filter((c) => only === undefined || c.name === only);
  if (wanted.some((c) => c.backends)) await hooks.loadBackends?.();
  for (const add of await Promise.all(wanted.map((c) => c.load()))) add(program);
  return program;
}

/** The subcommand argv names, if it is one of ours (the top-level options take no values); else undefined: help, --version or a typo load every command. */
function commandOf(argv: readonly string[]): string | undefined {
  const first = argv.find((a) => !a.startsWith('-'));
  return COMMANDS.some((c) => c.name === first) ? first : undefined;
}

/**
 * Runs the command line `argv` (without node and script) and resolves with its exit status.
 * Every failure is one line on `output.err`, never a stack trace.
 */
export async function runCli(argv: readonly string[], output: CliOutput = STDIO, hooks: CliHooks = {}): Promise<number> {
  try {
    const program = await createProgram(output, commandOf(argv), hooks);
    await program.parseAsync([...argv], { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (e) {
    // commander has already printed its own message (and the help after a usage error, or the version).
    if (e instanceof CommanderError) return e.exitCode;
    output.err(`tessera: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
