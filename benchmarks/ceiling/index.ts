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
import type { Impl, IOMode } from '../harness.js';
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

/** The ceiling's second thread: `ask` sends it a request and resolves to its reply. */
type Ask = <T>(msg: unknown) => Promise<T>;

/**
 * Runs `fn` with the workload on the main thread (`run`, the cpu backend, its own copy) and the
 * same workload loaded in a second thread (`ask`); the thread is terminated afterwards.
 */
async function withCeilingThread<T>(id: string, level: 'O0' | 'O1' | 'O2', io: IOMode, fn: (run: () => Promise<unknown>, ask: Ask) => Promise<T>): Promise<T> {
  const worker = new Worker(new URL('./worker.mjs', import.meta.url), { execArgv: ['--conditions=@tessera/source'] });
  // Replies come in order; an error in the worker fails every pending request (no hang).
  const pending: { resolve: (value: unknown) => void; reject: (e: Error) => void }[] = [];
  let failed: Error | null = null;
  worker.on('message', (value) => pending.shift()?.resolve(value));
  worker.on('error', (e) => {
    failed = e;
    for (const p of pending.splice(0)) p.reject(e);
  });
  const ask: Ask = <R>(msg: unknown): Promise<R> => {
    if (failed) return Promise.reject(failed);
    worker.postMessage(msg);
    return new Promise<R>((resolve, reject) => pending.push({ resolve: resolve as (value: unknown) => void, reject }));
  };
  try {
    const run = await cpuRunner(id, level, io);
    for (let i = 0; i < 3; i++) await run();
    await ask<null>({ kind: 'load', id, level, io });
    return await fn(run, ask);
  } finally {
    await worker.terminate();
  }
}

/** ms of each of `runs` calls on the main thread alone, then of each thread's calls while both run. */
async function soloAndPair(run: () => Promise<unknown>, ask: Ask, runs: number): Promise<{ soloMain: number[]; pairMain: number[]; pairWorker: number[] }> {
  const soloMain = await overlappedRuns(run, runs, overlap.alone(), 0);
  const flags = overlap.together();
  const theirs = ask<number[]>({ kind: 'time', runs, flags });
  const pairMain = await overlappedRuns(run, runs, flags, 0);
  return { soloMain, pairMain, pairWorker: await theirs };
}

const speedup = (soloMain: number, pairMain: number, pairWorker: number): number => soloMain * (1 / pairMain + 1 / pairWorker);

/** `io`: how each call gets its input and gives its output, as in the timed runs (harness.ts). */
export function kernelCeiling(id: string, level: 'O0' | 'O1' | 'O2', io: IOMode, rounds = 5, runs = 5): Promise<Ceiling> {
  return withCeilingThread(id, level, io, async (run, ask) => {
    // Rounds alternate solo and paired timing, so slow drifts of the machine hit both alike.
    const t = { soloMain: [] as number[], soloWorker: [] as number[], pairMain: [] as number[], pairWorker: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      const r = await soloAndPair(run, ask, runs);
      t.soloMain.push(...r.soloMain);
      t.soloWorker.push(...(await ask<number[]>({ kind: 'time', runs, flags: overlap.alone() })));
      t.pairMain.push(...r.pairMain);
      t.pairWorker.push(...r.pairWorker);
    }
    const [soloMain, soloWorker, pairMain, pairWorker] = [t.soloMain, t.soloWorker, t.pairMain, t.pairWorker].map(median);
    return { soloMain, soloWorker, pairMain, pairWorker, speedup: speedup(soloMain, pairMain, pairWorker) };
  });
}

/** One round of `trackCeiling`: the ceiling and each implementation's speed-up over the cpu backend, measured within the same ~50 ms. */
export interface TrackedRound {
  readonly ceiling: number;
  /** By implementation: cpu-alone ms / its median ms of the calls after the first (back to back). */
  readonly speedups: Record<string, number>;
  /** Median ms of the round's timings: the cpu backend on the main thread alone, each thread paired, each implementation. */
  readonly ms: { readonly soloMain: number; readonly pairMain: number; readonly pairWorker: number; readonly impls: Record<string, number> };
}

/**
 * The ceiling and the implementations measured together, round after round: each round times
 * the cpu backend alone and paired (the ceiling, as `kernelCeiling`), then, after an idle pause,
 * `runs + 1` calls of each implementation (the first one wakes a pool and is not counted). On a
 * VM whose second vCPU changes speed within seconds, the ratio achieved / ceiling of one round
 * compares an implementation with what two threads could do at that moment, which a ceiling
 * measured before and after a long timing cannot.
 */
export function trackCeiling(id: string, level: 'O0' | 'O1' | 'O2', io: IOMode, impls: readonly Impl[], rounds: number, runs = 4): Promise<TrackedRound[]> {
  return withCeilingThread(id, level, io, async (run, ask) => {
    const idle = () => new Promise((resolve) => setTimeout(resolve, 5));
    const out: TrackedRound[] = [];
    for (let round = 0; round < rounds; round++) {
      await idle();
      const r = await soloAndPair(run, ask, runs);
      const solo = median(r.soloMain);
      const speedups: Record<string, number> = {};
      const ms: Record<string, number> = {};
      for (const impl of impls) {
        const call = async () => impl.run();
        await idle();
        await call();
        ms[impl.name] = median(await overlappedRuns(call, runs, overlap.alone(), 0));
        speedups[impl.name] = solo / ms[impl.name];
      }
      const [pairMain, pairWorker] = [median(r.pairMain), median(r.pairWorker)];
      out.push({ ceiling: speedup(solo, pairMain, pairWorker), speedups, ms: { soloMain: solo, pairMain, pairWorker, impls: ms } });
    }
    return out;
  });
}
