import '@tessera/backend-cpu';
import { randomTensor } from '@tessera/core';
import { workload, workloadGraph } from '@tessera/examples';
import { optimize } from '@tessera/passes';
import { tesseraCall, type IOMode } from '../harness.js';

/** One thread's own copy of a workload on the cpu backend: its own memory, weights and buffers. */
export async function cpuRunner(id: string, level: 'O0' | 'O1' | 'O2', io: IOMode): Promise<() => Promise<unknown>> {
  const w = workload(id);
  return (await tesseraCall(optimize(workloadGraph(w), { level }).graph, randomTensor(w.input, 42).data, io, { backend: 'cpu' })).run;
}

/**
 * Flags of two threads timing together: [0, 1] started, [2, 3] finished their timed calls.
 * `alone()` is what a thread times against when the other does nothing.
 */
export const overlap = {
  together: (): Int32Array => new Int32Array(new SharedArrayBuffer(16)),
  alone: (): Int32Array => new Int32Array([1, 1, 1, 1]),
};

/**
 * Waits until the other thread has started, times `runs` calls of `run` (ms each), then keeps
 * calling it untimed until the other thread has finished its timed calls too, so every timed
 * call overlaps the other thread's work. `me` is 0 or 1.
 */
export async function overlappedRuns(run: () => Promise<unknown>, runs: number, flags: Int32Array, me: 0 | 1): Promise<number[]> {
  const other = 1 - me;
  Atomics.store(flags, me, 1);
  Atomics.notify(flags, me);
  // The other thread posts its start within milliseconds; a thread that died never does.
  if (Atomics.load(flags, other) === 0 && Atomics.wait(flags, other, 0, 10_000) === 'timed-out') throw new Error('kernel ceiling: the other thread did not start');
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  Atomics.store(flags, 2 + me, 1);
  for (const until = performance.now() + 60_000; Atomics.load(flags, 2 + other) === 0; await run()) {
    if (performance.now() > until) throw new Error('kernel ceiling: the other thread did not finish');
  }
  return times;
}
