#!/usr/bin/env node
// Packs every publishable package (pnpm pack: workspace:* become versions) and installs the
// tarballs into a fresh project, as a user would, from the local pnpm store (offline; with
// --prefer-offline only when pnpm lacks cached metadata for a dependency). Used by the
// pack-and-install test and for measuring the installed CLI.
//   node scripts/pack-install.mjs <project-dir> [--no-build]   (prints the project dir)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The workspace's packages that are published (every one but private ones). */
export function publishedPackages() {
  const dirs = [...readdirSync(join(ROOT, 'packages')).map((d) => join('packages', d)), 'examples'];
  return dirs
    .map((dir) => ({ dir: join(ROOT, dir), pkg: JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) }))
    .filter(({ pkg }) => !pkg.private);
}

const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: { ...process.env, CI: '1' } });

/**
 * Builds (unless build is false), packs every package into <project>/tarballs and installs them
 * into <project> with `extra` dependencies (name -> range, e.g. vite for a page build).
 */
export function packAndInstall(project, { build = true, extra = {} } = {}) {
  if (build) run('pnpm', ['build'], ROOT);
  const tarballs = join(project, 'tarballs');
  mkdirSync(tarballs, { recursive: true });
  const files = {};
  for (const { dir, pkg } of publishedPackages()) {
    const out = run('pnpm', ['pack', '--pack-destination', tarballs], dir).trim().split('\n').pop();
    files[pkg.name] = `file:./tarballs/${out.split('/').pop()}`;
  }
  // Overrides: the packages' dependencies on each other resolve to the tarballs, not a registry.
  const manifest = { name: 'tessera-user', private: true, type: 'module', dependencies: { ...files, ...extra }, pnpm: { overrides: files } };
  writeFileSync(join(project, 'package.json'), JSON.stringify(manifest, null, 2));
  const store = run('pnpm', ['store', 'path'], ROOT).trim();
  const install = (mode) => run('pnpm', ['install', mode, '--store-dir', store, '--config.confirmModulesPurge=false'], project);
  try {
    install('--offline');
  } catch (e) {
    if (!/NO_OFFLINE_META|NO_OFFLINE_TARBALL/.test(String(e.stdout) + String(e.stderr))) throw e;
    install('--prefer-offline');
  }
  return files;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const project = resolve(process.argv[2] ?? 'tessera-user');
  mkdirSync(project, { recursive: true });
  packAndInstall(project, { build: !process.argv.includes('--no-build') });
  console.log(project);
}
