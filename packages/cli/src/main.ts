#!/usr/bin/env node
import '@tessera/backend-cpu';
import '@tessera/backend-workers';
import { Command } from 'commander';
import { exportCommand } from './commands/export.js';
import { optimizeCommand } from './commands/optimize.js';
import { runCommand } from './commands/run.js';
import { summaryCommand } from './commands/summary.js';

const program = new Command('tessera')
  .description('Tessera: dataflow graphs for convolutional networks, checked on every backend')
  .showHelpAfterError();

for (const add of [summaryCommand, runCommand, optimizeCommand, exportCommand]) add(program);
import { conformanceCommand } from './commands/conformance.js'; conformanceCommand(program);

program.parseAsync().catch((e: unknown) => {
  console.error(`tessera: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
