/**
 * Leak checks for backend tests: counts what a session holds (sessions not disposed, cpu
 * executables, the workers' threads and loaded programs, Node handles) so that a test can
 * assert every count is back to its baseline after dispose.
 */
import { liveCpuExecutables } from '@tessera/backend-cpu';
import { liveWorkerCount, type WorkersBackend } from '@tessera/backend-workers';
import type { Session } from '@tessera/runtime';
import { expect } from 'vitest';

export interface Resources {
  readonly sessions: number;
  readonly cpuExecutables: number;
  readonly workers: number;
  readonly loadedPrograms: number;
  /** process.getActiveResourcesInfo() by kind (timers, message ports, workers...). */
  readonly handles: Readonly<Record<string, number>>;
  /** Active timers: the test runner's come and go, so they may only be fewer than at the baseline. */
  readonly timers: number;
}

/** Sessions made through `track` and not disposed yet. */
const tracked = new Set<Session>();

/** Registers a session for the leak check; returns it. */
export function track<S extends Session>(session: S): S {
  tracked.add(session);
  return session;
}

export async function countResources(pools: readonly WorkersBackend[] = []): Promise<Resources> {
  const handles: Record<string, number> = {};
  let timers = 0;
  for (const kind of process.getActiveResourcesInfo().sort()) {
    if (kind === 'Timeout') timers++;
    else handles[kind] = (handles[kind] ?? 0) + 1;
  }
  let loadedPrograms = 0;
  for (const pool of pools) loadedPrograms += await pool.testHooks.loadedPrograms();
  return {
    sessions: [...tracked].filter((s) => !s.isDisposed).length,
    cpuExecutables: liveCpuExecutables(),
    workers: liveWorkerCount(),
    loadedPrograms,
    handles,
    timers,
  };
}

/**
 * Asserts that the resources are back to `baseline`. Unloading is asynchronous (a message to
 * every worker), and a timer or port may close a tick late: polls for a short while first.
 */
export async function expectBaseline(baseline: Resources, pools: readonly WorkersBackend[] = [], withinMs = 2000): Promise<void> {
  const deadline = performance.now() + withinMs;
  const comparable = (r: Resources) => ({ ...r, timers: r.timers <= baseline.timers ? baseline.timers : r.timers });
  let now = comparable(await countResources(pools));
  while (JSON.stringify(now) !== JSON.stringify(baseline) && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    now = comparable(await countResources(pools));
  }
  expect(now).toEqual(baseline);
}

/** Resident set size, MiB. */
export const rssMiB = (): number => process.memoryUsage().rss / 2 ** 20;
