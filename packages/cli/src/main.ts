#!/usr/bin/env node
import '@tessera/backend-cpu';
import '@tessera/backend-workers';
import { registerBrowserBackends } from '@tessera/browser';
import { disposeBackends } from '@tessera/runtime';
import { Command } from 'commander';
import { conformanceCommand } from './commands/conformance.js';
import { exportCommand } from './commands/export.js';
import { optimizeCommand } from './commands/optimize.js';
import { runCommand } from './commands/run.js';
import { summaryCommand } from './commands/summary.js';

const program = new Command('tessera')
  .description('Tessera: dataflow graphs for convolutional networks, checked on every backend')
  .showHelpAfterError();

// webgl (and cpu / workers inside a browser) run in headless Chromium, started on first use.
registerBrowserBackends();

for (const add of [summaryCommand, runCommand, optimizeCommand, exportCommand, conformanceCommand]) add(program);

try {
  await program.parseAsync();
} catch (e) {
  console.error(`tessera: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  // Worker pools and browsers keep the process alive: release whatever the command started.
  await disposeBackends();
}
