#!/usr/bin/env node
// Makes sure a Chromium is on this machine for the browser tests and benchmarks.
// Order: $CHROMIUM_PATH, then known install paths, then (Debian / Ubuntu as root) the
// distribution's `chromium` package. Never downloads a browser build of its own.
// Usable as a module too: `findChromium()` returns a path or null, `chromiumHint()` the advice.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

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

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The Chromium to use, or null: $CHROMIUM_PATH if set (it must exist), else the first known path. */
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

function main() {
  let path = findChromium();
  if (!path && !process.env.CHROMIUM_PATH && debianLike() && process.getuid?.() === 0) {
    console.log('ensure-chromium: no Chromium found; installing the distribution package (apt-get install -y chromium)');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', 'chromium'], { stdio: 'inherit', env });
    path = findChromium();
  }
  if (!path) {
    console.error(`ensure-chromium: ${chromiumHint()}`);
    process.exit(1);
  }
  const version = spawnSync(path, ['--version', ...CHROMIUM_ARGS], { encoding: 'utf8' }).stdout.trim();
  console.log(`ensure-chromium: ${path}${version ? ` (${version})` : ''}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
