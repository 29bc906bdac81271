#!/usr/bin/env node
import '@tessera/backend-cpu';
import '@tessera/backend-workers';
import { registerBrowserBackends } from '@tessera/browser';
import { disposeBackends } from '@tessera/runtime';
import { runCli } from './program.js';

// webgl (and cpu / workers inside a browser) run in headless Chromium, started on first use.
registerBrowserBackends();

try {
  process.exitCode = await runCli(process.argv.slice(2));
} finally {
  // Worker pools and browsers keep the process alive: release whatever the command started.
  await disposeBackends();
}
