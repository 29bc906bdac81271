/**
 * What the pool's two sides share: WorkerPool (pool.ts) starts, repairs and stops the workers of
 * its slots; Dispatcher (dispatch.ts) runs programs on them. Both write commands into the slots.
 */
import type { HostWorker } from './host.js';
import { CMD, SEQ, slotBase, type FromWorker } from './protocol.js';

export interface PoolOptions {
  readonly threads: number;
  /** Watchdog: a step (or a control message) that a worker has not finished after this long fails. */
  readonly timeoutMs: number;
  /** How long a worker may take to start (load its modules) before the pool gives up on it. */
  readonly startTimeoutMs: number;
  /** How long idle threads poll before they sleep: workers waiting for a command, the caller waiting for the end of a run. */
  readonly spinMs: number;
  /** Record when each thread ran what in whole runs (timeline.ts; read with `takeTimeline`). */
  readonly timeline: boolean;
}

export type ErrorMessage = Extract<FromWorker, { type: 'error' }>;

export interface Waiter {
  readonly op: string;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

/** A worker's place in the pool: the worker now in it (replacements take the same slot) and what it owes. */
export interface Slot {
  readonly index: number;
  worker: HostWorker | null;
  /** Why the worker is gone (exit code, uncaught error), or null while it lives. */
  death: string | null;
  /** Acks expected from the worker, in order. */
  waiters: Waiter[];
  /** Step errors the worker reported, by command sequence number. */
  errors: Map<number, ErrorMessage>;
  onError: (() => void) | null;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes a command into a worker's slot of the control block (its operands are already there) and wakes it; returns its sequence number. */
export function command(c: Int32Array, worker: number, cmd: number): number {
  const b = slotBase(worker);
  c[b + CMD] = cmd;
  const seq = (Atomics.load(c, b + SEQ) + 1) | 0;
  Atomics.store(c, b + SEQ, seq);
  Atomics.notify(c, b + SEQ);
  return seq;
}
