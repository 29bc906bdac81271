/** Timing helpers: every implementation runs round-robin, so machine noise hits all alike. */
import { prng, type Graph } from '@tessera/core';
import { createSession, type Session, type SessionOptions } from '@tessera/runtime';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * How a timed Tessera call gets its input and gives its output:
 *  - 'bound' (default): the session's bound arrays (`bindIO`): the input was written once, a run
 *    copies nothing in or out (a serving loop that decodes straight into `session.io`);
 *  - 'buffers': the input is copied in each call, the output into a buffer allocated once;
 *  - 'fresh': the input is copied in, the output into a fresh array each call (like tfjs'
 *    `dataSync()`; on this VM a fresh multi-megabyte array costs page faults worth up to ~10 ms).
 */
export type IOMode = 'bound' | 'buffers' | 'fresh';

export function ioMode(value: string | undefined): IOMode {
  if (value === undefined || value === 'bound' || value === 'buffers' || value === 'fresh') return value ?? 'bound';
  throw new Error(`--io must be bound, buffers or fresh, got '${value}'`);
}

/** A session for `graph` and the call to time, with input `x` (the graph's single input) written as `io` says. */
export async function tesseraCall(graph: Graph, x: Float32Array, io: IOMode, options: SessionOptions = {}): Promise<{ session: Session; run: () => Promise<unknown> }> {
  const session = await createSession(graph, { ...options, bindIO: io === 'bound' });
  const input = graph.inputs[0].name;
  if (io === 'bound') {
    const { inputs, outputs } = session.io;
    inputs[input].set(x);
    return { session, run: () => session.run(inputs, { outputs }) };
  }
  const outputs = io === 'buffers' ? Object.fromEntries(Object.entries(await session.run({ [input]: x })).map(([name, y]) => [name, new Float32Array(y.length)])) : undefined;
  return { session, run: () => session.run({ [input]: x }, { outputs }) };
}

export interface Timing {
  readonly median: number;
  readonly min: number;
  readonly samples: readonly number[];
  /** Medians of the first call of each turn (after the idle pause) and of the calls that follow it back to back (NaN if none). */
  readonly firstMedian: number;
  readonly backToBackMedian: number;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface Impl {
  readonly name: string;
  /** Called before each block of this implementation's calls (e.g. switching tfjs' backend). */
  readonly enter?: () => Promise<void>;
  readonly run: () => Promise<unknown> | unknown;
}

let gc: (() => void) | undefined;

/** V8's full garbage collection, exposed on first use (the way Node's documentation of `v8.setFlagsFromString` shows). */
function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The process counts as idle when all its threads together use less than QUIET_CPU_MS of CPU in QUIET_WINDOW_MS. */
const QUIET_WINDOW_MS = 5;
const QUIET_CPU_MS = 0.5;
/** Waiting for idle gives up after this long (a machine that is never idle still gets measured). */
const MAX_SETTLE_MS = 500;

/**
 * Between two turns (untimed): collects garbage, idles `pauseMs`, then waits until the process
 * is idle. V8 collects garbage and compiles hot code on background threads, which share the two
 * cores with a 2-thread backend but not with a 1-thread one: without this, what one
 * implementation left to collect or compile runs during the next one's timed calls. Measured on
 * W3 with tfjs-cpu in the rotation (2026-11-28, each thread's run time from
 * /proc/self/task/<tid>/schedstat around turns of 3 workers calls): V8's platform threads ran up
 * to 40 ms in one turn (tfjs' conv2D was re-optimized 44 times in 20 rounds, ~13 ms of TurboFan
 * each). Means per turn (30 turns per mode, interleaved): 5.3 ms after a plain 5 ms pause, 2.8 ms
 * after settling; in a second run 3.7 ms with the idle wait alone, 4.0 ms with the collection
 * too. What remains starts during the turn itself (see the warm-up below).
 */
async function settle(pauseMs: number): Promise<void> {
  collectGarbage();
  await sleep(pauseMs);
  for (const t0 = performance.now(); performance.now() - t0 < MAX_SETTLE_MS; ) {
    const before = process.cpuUsage();
    await sleep(QUIET_WINDOW_MS);
    const { user, system } = process.cpuUsage(before);
    if ((user + system) / 1000 < QUIET_CPU_MS) return;
  }
}

/**
 * Times each implementation `runs` times after warming it up: at least `warmup` calls and
 * `warmupMs` ms of calls. V8 optimizes a backend's hot functions (in every worker's isolate too)
 * over its first hundreds of calls, on background threads that take a core from a 2-thread
 * backend. Measured on W3 (2026-11-28, `workers-timeline.ts --sched`, 40 workers runs each): the
 * process's other threads ran 3.1 and 8.6 ms per run in the third and slowest quartiles after 2
 * warm-up calls (median run 6.98 ms), 0.6 and 5.2 ms after 300 calls (5.65 ms), 0.9 and 2.6 ms
 * after 1000 ms of calls (5.33 ms). Calls are made in turns of `block` calls per implementation,
 * rotating through the implementations until all runs are done, so slow drifts of a shared machine
 * hit every implementation alike. Each round takes them in a new order (a shuffle with the fixed
 * `orderSeed`), because a turn's first call pays for what ran just before it: in a fixed order
 * tessera-cpu's turn always followed tfjs-wasm's, and its first calls on W1-b1 were x1.01-1.12
 * slower than those of an identical second session (eight runs, 2026-11-28); with that second
 * session moved behind tfjs-wasm instead, it was the slower one (261 us against 231). Shuffled,
 * the two sessions' first calls came within x0.93-1.17 of each other over six runs (x0.98, 0.93,
 * 1.03 in the last three): less one-sided, not always gone.
 *
 * Before each turn the harness settles (untimed, `settle`): it collects garbage, idles `settleMs`
 * (a thread pool polls for a while after a run: workers' `spinMs`, 2 ms by default) and waits
 * until the process is idle, so no implementation is timed while another's threads, garbage or
 * JIT work still run. Every implementation then starts its turn from the same idle state: its
 * first call is an occasional call (a thread pool's workers asleep: on this VM waking one takes
 * ~0.1 ms, at times milliseconds), the calls after it run back to back as an inference loop
 * would. Both are reported apart (`firstMedian`, `backToBackMedian`).
 *
 * Each implementation makes `runs` timed calls, or more when the first implementation (the
 * reference of the ratios) would spend less than `minMs` in them: then as many as its warm-up
 * calls say it needs for `minMs`, at most `maxRuns`. Every implementation makes the same number
 * of calls, so the turns stay interleaved to the end. With 30 calls each, W1-b1's workers / cpu
 * ratio (the same kernels on the same thread) was anywhere from x0.90 to x1.24 over 18 runs of
 * `pnpm bench` on 2026-11-28; with 300, two cpu sessions were within 0.97-1.05 of each other.
 * Returns ms per call.
 */
export async function timeInterleaved(
  impls: readonly Impl[],
  { warmup = 2, warmupMs = 1000, runs = 7, block = 1, settleMs = 5, minMs = 0, maxRuns = Number.POSITIVE_INFINITY, orderSeed = 1 } = {},
): Promise<Map<string, Timing>> {
  const first = new Map(impls.map((i) => [i.name, [] as number[]]));
  const later = new Map(impls.map((i) => [i.name, [] as number[]]));
  const referenceCalls: number[] = [];
  for (const impl of impls) {
    await impl.enter?.();
    for (let i = 0, t0 = performance.now(); i < warmup || performance.now() - t0 < warmupMs; i++) {
      const t = performance.now();
      await impl.run();
      if (impl === impls[0]) referenceCalls.push(performance.now() - t);
    }
  }
  // No warm-up call to go by (--warmup 0 --warmup-ms 0): keep `runs` rather than time nothing.
  if (minMs > 0 && referenceCalls.length > 0) runs = Math.max(runs, Math.min(maxRuns, Math.ceil(minMs / median(referenceCalls))));
  const random = prng(orderSeed);
  for (let done = 0; done < runs; done += block) {
    for (const impl of shuffled(impls, random)) {
      await impl.enter?.();
      await settle(settleMs);
      for (let r = done; r < Math.min(runs, done + block); r++) {
        const t0 = performance.now();
        await impl.run();
        (r === done ? first : later).get(impl.name)!.push(performance.now() - t0);
      }
    }
  }
  return new Map(impls.map(({ name }) => {
    const samples = [...first.get(name)!, ...later.get(name)!];
    const firstMedian = median(first.get(name)!);
    const backToBackMedian = later.get(name)!.length ? median(later.get(name)!) : NaN;
    return [name, { median: median(samples), min: Math.min(...samples), samples, firstMedian, backToBackMedian }];
  }));
}

/** A Fisher-Yates shuffle of `xs` (a new array). */
function shuffled<T>(xs: readonly T[], random: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Plain JavaScript's register-only multiply-add peak: 12 independent accumulators, no memory
 * traffic. The ceiling any scalar TypeScript kernel can approach (GFLOP/s, 2 flops per multiply-add).
 */
export function scalarPeakGflops(iterations = 20_000_000): number {
  let best = 0;
  for (let rep = 0; rep < 5; rep++) {
    let a0 = 1, a1 = 1, a2 = 1, a3 = 1, a4 = 1, a5 = 1, a6 = 1, a7 = 1, a8 = 1, a9 = 1, a10 = 1, a11 = 1;
    const m = 0.999999, c = 1e-7;
    const t0 = performance.now();
    for (let i = 0; i < iterations; i++) {
      a0 = a0 * m + c; a1 = a1 * m + c; a2 = a2 * m + c; a3 = a3 * m + c;
      a4 = a4 * m + c; a5 = a5 * m + c; a6 = a6 * m + c; a7 = a7 * m + c;
      a8 = a8 * m + c; a9 = a9 * m + c; a10 = a10 * m + c; a11 = a11 * m + c;
    }
    const ms = performance.now() - t0;
    const sink = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11;
    if (sink === 42) console.log('');
    best = Math.max(best, (24 * iterations) / (ms * 1e6));
  }
  return best;
}
