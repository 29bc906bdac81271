#!/usr/bin/env node
// Makes sure a Chromium is on this machine for the browser tests and benchmarks (the logic lives
// in @tessera/browser: packages/browser/src/chromium.mjs). Re-exports it for configs that need it.
import { pathToFileURL } from 'node:url';
import { chromiumHint, chromiumVersion, ensureChromium } from '../packages/browser/src/chromium.mjs';

export { CHROMIUM_ARGS, CHROMIUM_CANDIDATES, chromiumHint, findChromium } from '../packages/browser/src/chromium.mjs';

function main() {
  const path = ensureChromium();
  if (!path) {
    console.error(`ensure-chromium: ${chromiumHint()}`);
    process.exit(1);
  }
  const version = chromiumVersion(path);
  console.log(`ensure-chromium: ${path}${version ? ` (${version})` : ''}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
