// Finds (or, on Debian / Ubuntu as root, installs) the Chromium that the browser backends, tests
// and benchmarks drive. Order: $CHROMIUM_PATH, then known install paths, then PATH; installing
// uses the distribution's `chromium` package, never a browser build of its own.
// Plain JavaScript: scripts/ensure-chromium.mjs runs it with plain node right after `pnpm install`.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';

export const CHROMIUM_CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

/** Flags every launch uses: no sandbox (root in containers), no network chatter, no updates. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

/** @param {string} path */
function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Chromium to use, or null: $CHROMIUM_PATH if set (it must exist), else the first known path.
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {string | null}
 */
export function findChromium(env = process.env) {
  if (env.CHROMIUM_PATH) return executable(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : null;
  for (const p of CHROMIUM_CANDIDATES) if (executable(p)) return p;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    const p = r.status === 0 ? r.stdout.trim() : '';
    if (p && executable(p)) return p;
  }
  return null;
}

/**
 * What to do when no Chromium is found.
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {string}
 */
export function chromiumHint(env = process.env) {
  const named = env.CHROMIUM_PATH ? `CHROMIUM_PATH=${env.CHROMIUM_PATH} is not an executable file. ` : '';
  return (
    `${named}No Chromium found for Tessera's browser tests (looked at $CHROMIUM_PATH, ${CHROMIUM_CANDIDATES.join(', ')} and PATH). ` +
    `Run 'node scripts/ensure-chromium.mjs' (on Debian / Ubuntu as root it installs the 'chromium' package), ` +
    `or install Chromium / Google Chrome with your system's package manager and set CHROMIUM_PATH to its executable.`
  );
}

function debianLike() {
  if (!existsSync('/etc/os-release')) return false;
  const os = readFileSync('/etc/os-release', 'utf8');
  return /^(ID|ID_LIKE)=.*\b(debian|ubuntu)\b/m.test(os);
}

/**
 * The Chromium to use, installed first if there is none and this is Debian / Ubuntu as root
 * (without $CHROMIUM_PATH); else null, and `chromiumHint()` says what to do.
 * @returns {string | null}
 */
export function ensureChromium() {
  const path = findChromium();
  if (path || process.env.CHROMIUM_PATH || !debianLike() || process.getuid?.() !== 0) return path;
  console.log('ensure-chromium: no Chromium found; installing the distribution package (apt-get install -y chromium)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', 'chromium'], { stdio: 'inherit', env });
  return findChromium();
}

/**
 * The version line a Chromium prints, or '' if it prints none.
 * @param {string} path
 * @returns {string}
 */
export function chromiumVersion(path) {
  return spawnSync(path, ['--version', ...CHROMIUM_ARGS], { encoding: 'utf8' }).stdout.trim();
}
