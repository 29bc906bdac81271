/**
 * What two threads can get on a workload right now, measured with the real kernels: the cpu
 * backend runs the workload on the main thread alone, then on the main thread and a worker at
 * once (each on its own copy). With per-run times S (main alone) and P0, P1 (each thread while
 * the other also runs), a perfect split of one run over both threads takes 1 / (1/P0 + 1/P1),
 * so the best 2-thread speedup over the cpu backend is S x (1/P0 + 1/P1). It is 2 when the two
 * vCPUs are equally fast and nothing is shared; on this VM one vCPU is at times up to 1.6x
 * slower than the other on SIMD code (its host core busy with another tenant), and the two
 * threads share caches and memory bandwidth.
 */
import { Worker } from 'node:worker_threads';
import { median } from '../harness.js';
import type { IOMode } from '../harness.js';
import { cpuRunner, overlap, overlappedRuns } from './workload.js';

export interface Ceiling {
  /** Median ms per run: the main thread alone, the worker alone, each while both run. */
  readonly soloMain: number;
  readonly soloWorker: number;
  readonly pairMain: number;
  readonly pairWorker: number;
  /** soloMain x (1/pairMain + 1/pairWorker). */
  readonly speedup: number;
}

/** `io`: how each call gets its input and gives its output, as in the timed runs (harness.ts). */
export async function kernelCeiling(id: string, level: 'O0' | 'O1' | 'O2', io: IOMode, rounds = 5, runs = 5): Promise<Ceiling> {
  const worker = new Worker(new URL('./worker.mjs', import.meta.url), { execArgv: ['--conditions=@tessera/source'] });
  // Replies come in order; an error in the worker fails every pending request (no hang).
  const pending: { resolve: (value: unknown) => void; reject: (e: Error) => void }[] = [];
  let failed: Error | null = null;
  worker.on('message', (value) => pending.shift()?.resolve(value));
  worker.on('error', (e) => {
    failed = e;
    for (const p of pending.splice(0)) p.reject(e);
  });
  const ask = <T>(msg: unknown): Promise<T> => {
    if (failed) return Promise.reject(failed);
    worker.postMessage(msg);
    return new Promise((resolve, reject) => pending.push({ resolve: resolve as (value: unknown) => void, reject }));
  };
  try {
    const run = await cpuRunner(id, level, io);
    for (let i = 0; i < 3; i++) await run();
    await ask<null>({ kind: 'load', id, level, io });
    // Rounds alternate solo and paired timing, so slow drifts of the machine hit both alike.
    const t = { soloMain: [] as number[], soloWorker: [] as number[], pairMain: [] as number[], pairWorker: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      t.soloMain.push(...(await overlappedRuns(run, runs, overlap.alone(), 0)));
      t.soloWorker.push(...(await ask<number[]>({ kind: 'time', runs, flags: overlap.alone() })));
      const flags = overlap.together();
      const theirs = ask<number[]>({ kind: 'time', runs, flags });
      t.pairMain.push(...(await overlappedRuns(run, runs, flags, 0)));
      t.pairWorker.push(...(await theirs));
    }
    const [soloMain, soloWorker, pairMain, pairWorker] = [t.soloMain, t.soloWorker, t.pairMain, t.pairWorker].map(median);
    return { soloMain, soloWorker, pairMain, pairWorker, speedup: soloMain * (1 / pairMain + 1 / pairWorker) };
  } finally {
    await worker.terminate();
  }
}
