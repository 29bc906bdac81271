#!/usr/bin/env node
import { runCli } from './program.js';
import { userDirectory } from './cwd.js';

// `pnpm tessera ...` in the repository runs in its root: paths are the user's, so go back there.
process.chdir(userDirectory(process.env, process.cwd()));

/** Whether a command registered the backends (their workers and browsers keep the process alive). */
let backendsLoaded = false;

async function loadBackends(): Promise<void> {
  // ONNX Runtime ('ort', 'ort-web') loads its runtime package only when a session uses it.
  await Promise.all([import('@tessera/backend-cpu'), import('@tessera/backend-workers'), import('@tessera/backend-ort')]);
  // webgl (and cpu / workers inside a browser) run in headless Chromium, started on first use.
  (await import('@tessera/browser')).registerBrowserBackends();
  backendsLoaded = true;
}

try {
  process.exitCode = await runCli(process.argv.slice(2), undefined, { loadBackends });
} finally {
  // Release whatever the command started: worker pools, browsers.
  if (backendsLoaded) await (await import('@tessera/runtime')).disposeBackends();
}
