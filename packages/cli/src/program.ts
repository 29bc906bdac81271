import { Command, CommanderError } from 'commander';
import { conformanceCommand } from './commands/conformance.js';
import { drawCommand } from './commands/draw.js';
import { exportCommand } from './commands/export.js';
import { optimizeCommand } from './commands/optimize.js';
import { runCommand } from './commands/run.js';
import { summaryCommand } from './commands/summary.js';

/** Where the command line's own messages (usage errors, failures) go; tests capture them. */
export interface CliOutput {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const STDIO: CliOutput = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** The `tessera` command with every subcommand; usage errors throw (exitOverride) instead of exiting. */
export function createProgram(output: CliOutput = STDIO): Command {
  const program = new Command('tessera')
    .description('Tessera: dataflow graphs for convolutional networks, checked on every backend')
    .showHelpAfterError()
    // Set before the subcommands are added, which inherit both.
    .exitOverride()
    .configureOutput({ writeOut: output.out, writeErr: output.err });
  for (const add of [summaryCommand, runCommand, optimizeCommand, exportCommand, conformanceCommand, drawCommand]) add(program);
  return program;
}

/**
 * Runs the command line `argv` (without node and script) and resolves with its exit status.
 * Every failure is one line on `output.err`, never a stack trace.
 */
export async function runCli(argv: readonly string[], output: CliOutput = STDIO): Promise<number> {
  try {
    await createProgram(output).parseAsync([...argv], { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (e) {
    // commander has already printed its own message (and the help after a usage error).
    if (e instanceof CommanderError) return e.exitCode;
    output.err(`tessera: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}
