import { createSpinner } from 'nanospinner';

/** A status line on stderr while something slow runs (a browser starting, long runs). */
export interface Status {
  update(text: string): void;
  /** Removes the line (before printing results). */
  done(): void;
}

const SILENT: Status = { update: () => undefined, done: () => undefined };

/**
 * A spinner on stderr when it is a terminal and `enabled`; else nothing (pipes, --json, tests).
 * A terminal that reports no width gets none either: the spinner's line count would divide by it.
 */
export function statusLine(text: string, enabled = true): Status {
  if (!enabled || !process.stderr.isTTY || !(process.stderr.columns > 0)) return SILENT;
  const spinner = createSpinner(text, { stream: process.stderr }).start();
  return {
    update: (t) => void spinner.update({ text: t }),
    done: () => void spinner.stop(),
  };
}
