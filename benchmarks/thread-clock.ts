/**
 * Every thread of this process: how long it ran and how long it waited runnable for a CPU (Linux,
 * /proc/self/task/<tid>/schedstat, nanoseconds). Tells a slow 2-thread run whose threads were
 * preempted (waited) from one whose kernels ran slower, and shows other threads of the process
 * (V8's garbage collector and compiler threads) that ran meanwhile. Empty where /proc is missing.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** By thread id: ms run and ms waited runnable, since the thread started. */
export type ThreadClock = ReadonlyMap<string, { readonly run: number; readonly wait: number }>;

export function threadClock(): ThreadClock {
  const clock = new Map<string, { run: number; wait: number }>();
  let tids: string[] = [];
  try {
    tids = readdirSync('/proc/self/task');
  } catch {
    return clock;
  }
  for (const tid of tids) {
    try {
      const [run, wait] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      clock.set(tid, { run: run / 1e6, wait: wait / 1e6 });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return clock;
}

/** What each thread ran and waited between two clocks (threads started since count from 0). */
export function threadDelta(before: ThreadClock, after: ThreadClock): Map<string, { run: number; wait: number }> {
  const delta = new Map<string, { run: number; wait: number }>();
  for (const [tid, t] of after) {
    const b = before.get(tid) ?? { run: 0, wait: 0 };
    delta.set(tid, { run: t.run - b.run, wait: t.wait - b.wait });
  }
  return delta;
}
