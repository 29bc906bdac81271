/**
 * Scaling of the workers backend: median ms of cpu, workers(1) and workers(2) on the benchmark
 * workloads, in one process, round-robin after warm-up. Checks first that the workers' outputs
 * are bit-identical to cpu's.
 *
 *   npx tsx --conditions=@tessera/source benchmarks/workers-scaling.ts [--workloads W1-b1,W2] [--runs 9] [--block 3] [--warmup 2]
 *       [--configs 1w,1w+c,2w] [--level O0|O1|O2] [--gemm auto|js] [--io bound|buffers|fresh] [--no-ceiling] [--tracked N [--rounds]] [--json benchmarks/results/workers-scaling.json]
 *
 * Implementations take turns of --block calls after an idle pause (harness.ts); speed-ups are
 * given for the calls made back to back and for the first call of each turn. Before and after
 * each workload's timing it measures the workload's 2-thread ceiling (ceiling/index.ts: the cpu
 * backend on the main thread alone, then on the main thread and a worker at once).
 *
 * A config is a pool size and who computes: `1w` one worker (the caller waits), `1w+c` one worker
 * plus the calling thread (the default on a 2-core machine), `2w` two workers (the caller waits);
 * `@ms` sets the pool's spinMs (e.g. `1w+c@0.05`), `~N` its inlineCost (and minPartCost N / 2: `1w+c~30000`).
 *   npx tsx --conditions=@tessera/source benchmarks/workers-scaling.ts --calibrate
 *
 * --tracked N measures instead N rounds of: the 2-thread ceiling (the cpu backend alone, then paired),
 * then each configuration's calls after an idle pause; it prints each one's speed-up and its share
 * of the ceiling of the same round (ceiling/index.ts trackCeiling), which stays readable when the
 * machine changes phase within seconds. --rounds also prints each round's timings (ms): the cpu
 * backend alone on the main thread, each thread paired (a vCPU slower than the other shows there),
 * and each configuration.
 *   npx tsx --conditions=@tessera/source benchmarks/workers-scaling.ts --tracked 40 --configs 1w+c --workloads W1-b32,W2
 *
 * --calibrate measures what the cost model's thresholds rest on (partition.ts): the time of one
 * cost unit per kind of step on the main thread (wasm GEMM steps, depthwise steps (W7), element-wise / pooling steps),
 * and the dispatch overhead of one split step (2 workers, a chain of tiny steps, split vs inline).
 * It also prints the CPU time the process used, which shows how much of the machine it got.
 */
import { compileProgram, cpuKernel } from '@tessera/backend-cpu/kernels';
import { createWorkersBackend, stepCost, type WorkersBackend } from '@tessera/backend-workers';
import { GraphBuilder, randomTensor } from '@tessera/core';
import { workload, workloadGraph } from '@tessera/examples';
import { optimize } from '@tessera/passes';
import { createContainer, createSession, planExecution, registerBackend, type Session } from '@tessera/runtime';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { kernelCeiling, trackCeiling, type Ceiling, type TrackedRound } from './ceiling/index.js';
import { ioMode, median, tesseraCall, timeInterleaved, type Impl } from './harness.js';

const { values: args } = parseArgs({
  options: {
    workloads: { type: 'string', default: 'W1-b1,W1-b32,W2,W3,W4-1024' },
    runs: { type: 'string', default: '9' },
    block: { type: 'string', default: '3' },
    'no-ceiling': { type: 'boolean', default: false },
    tracked: { type: 'string' },
    rounds: { type: 'boolean', default: false },
    warmup: { type: 'string', default: '2' },
    configs: { type: 'string', default: '1w,1w+c,2w' },
    io: { type: 'string', default: 'bound' },
    level: { type: 'string', default: 'O0' },
    gemm: { type: 'string', default: 'auto' },
    calibrate: { type: 'boolean', default: false },
    json: { type: 'string', default: 'benchmarks/results/workers-scaling.json' },
  },
});

/** How each call gets its input and gives its output (harness.ts), and the graph's optimization level. */
const io = ioMode(args.io);
if (!['O0', 'O1', 'O2'].includes(args.level!)) throw new Error(`--level must be O0, O1 or O2, got '${args.level}'`);
const level = args.level as 'O0' | 'O1' | 'O2';

interface Row {
  workload: string;
  impl: string;
  medianMs: number;
  minMs: number;
  backToBackMs: number;
  firstMs: number;
  /** Over cpu: medians of all calls, of back-to-back calls, of first calls. */
  speedup: number;
  speedupBackToBack: number;
  speedupFirst: number;
}

/** CPU time (user + system, ms) this process used since `from`, all threads included. */
function cpuMs(from: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(from);
  return (u.user + u.system) / 1000;
}

/** ns per cost unit (partition.ts stepCost) of each kind of step, on the main thread (cpu backend). */
async function calibrateRates(): Promise<void> {
  const kinds = new Map<string, { ns: number; cost: number }>();
  for (const id of ['W2', 'W3', 'W4-1024', 'W7']) {
    const graph = workloadGraph(workload(id));
    const program = compileProgram(planExecution(graph), cpuKernel, 'cpu', { gemm: 'wasm' });
    const session = await createSession(graph, { backend: 'cpu', profile: true });
    const x = randomTensor(workload(id).input, 1).data;
    for (let i = 0; i < 8; i++) await session.run({ x });
    const durations = new Map<string, number[]>();
    for (const e of session.trace().traceEvents) if (e.cat !== 'run') (durations.get(e.name) ?? durations.set(e.name, []).get(e.name)!).push(e.dur);
    for (const step of program.steps) {
      const d = durations.get(step.node)?.slice(2).sort((a, b) => a - b);
      if (!d?.length) continue;
      const kind = (step as { wasm?: boolean }).wasm ? `${step.kernel} (wasm GEMM)` : step.kernel;
      const k = kinds.get(kind) ?? kinds.set(kind, { ns: 0, cost: 0 }).get(kind)!;
      k.ns += d[d.length >> 1] * 1000;
      k.cost += stepCost(step, true); // the wasm path's prices (depthwise: its SIMD loop)
    }
    session.dispose();
  }
  console.log('ns per cost unit on the main thread (W2, W3, W4-1024, W7 steps; median of runs):');
  for (const [kind, k] of kinds) console.log(`  ${kind.padEnd(22)} ${(k.ns / k.cost).toFixed(4)} ns/unit over ${(k.cost / 1e6).toFixed(1)} M units`);
}

/**
 * Overhead of one split step (a worker plus the calling thread, as by default on 2 cores): a
 * sequence of tiny 1x1 max pools (which never chain), split vs inline.
 */
async function calibrateDispatch(): Promise<void> {
  const STEPS = 200;
  const g = new GraphBuilder('chain');
  let v = g.input('x', [1, 16, 16, 1]);
  for (let i = 0; i < STEPS; i++) v = g.maxpool(v, { ksize: [1, 1], strides: [1, 1], padding: 'VALID' });
  const graph = g.build({ y: v });
  const x = randomTensor([1, 16, 16, 1], 1).data;
  const split = createWorkersBackend({ threads: 1, inlineCost: 0, minPartCost: 1, inlineGraphCost: 0 });
  const inline = createWorkersBackend({ threads: 1, inlineCost: Infinity, inlineGraphCost: 0 });
  const container = createContainer();
  registerBackend(container, 'split', () => split);
  registerBackend(container, 'inline', () => inline);
  await Promise.all([split.ready(), inline.ready()]);
  try {
    const sessions = { split: await createSession(graph, { backend: 'split', container }), inline: await createSession(graph, { backend: 'inline', container }) };
    const before = await split.testHooks.dispatchedSteps();
    await sessions.split.run({ x });
    if ((await split.testHooks.dispatchedSteps()) - before !== STEPS) throw new Error('calibration: the chain was not split');
    const timings = await timeInterleaved(
      Object.entries(sessions).map(([name, s]) => ({ name, run: () => s.run({ x }) })),
      { warmup: 5, runs: 41 },
    );
    const d = (timings.get('split')!.median - timings.get('inline')!.median) / STEPS;
    console.log(`overhead per split step (1 worker + the calling thread, ${STEPS} steps, median of 41 runs): ${(d * 1000).toFixed(1)} us`);
    console.log(`  (split run ${timings.get('split')!.median.toFixed(2)} ms, inline run ${timings.get('inline')!.median.toFixed(2)} ms)`);
  } finally {
    await Promise.all([split.dispose(), inline.dispose()]);
  }
}

async function calibrate(): Promise<void> {
  console.log(`node ${process.version}, ${os.availableParallelism()} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  await calibrateRates();
  await calibrateDispatch();
}

/** Medians over the rounds of --tracked: each implementation's speed-up, the ceiling, and their ratio (with its quartiles). */
function printTracked(id: string, rounds: readonly TrackedRound[]): void {
  if (args.rounds) {
    for (const { ms, ceiling } of rounds) {
      const impls = Object.entries(ms.impls).map(([name, v]) => `${name} ${v.toFixed(2)}`).join(', ');
      console.log(`  round: main alone ${ms.soloMain.toFixed(2)} ms, paired main / worker ${ms.pairMain.toFixed(2)} / ${ms.pairWorker.toFixed(2)} (ceiling x${ceiling.toFixed(2)}); ${impls}`);
    }
  }
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.round(p * (xs.length - 1))];
  const range = (xs: number[], f: (v: number) => string) => `${f(q(xs, 0.25))}-${f(q(xs, 0.75))}`;
  const ceilings = rounds.map((r) => r.ceiling);
  console.log(`${id}: ${rounds.length} rounds, 2-thread ceiling x${median(ceilings).toFixed(2)} (median; quartiles ${range(ceilings, (v) => `x${v.toFixed(2)}`)})`);
  for (const name of Object.keys(rounds[0].speedups)) {
    const share = rounds.map((r) => r.speedups[name] / r.ceiling);
    const pct = (v: number) => (100 * v).toFixed(0);
    console.log(`  ${name.padEnd(16)} x${median(rounds.map((r) => r.speedups[name])).toFixed(2)} over cpu alone, ${pct(median(share))}% of the round's ceiling (quartiles ${range(share, pct)}%)`);
  }
}

async function main(): Promise<void> {
  if (args.calibrate) return calibrate();
  const trackedRounds = args.tracked === undefined ? 0 : Number(args.tracked);
  if (args.tracked !== undefined && !(Number.isInteger(trackedRounds) && trackedRounds > 0)) throw new Error(`--tracked must be a positive number of rounds, got '${args.tracked}'`);
  const tracked: Record<string, TrackedRound[]> = {};
  if (args.gemm !== 'auto' && args.gemm !== 'js') throw new Error(`--gemm must be auto or js, got '${args.gemm}'`);
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const container = createContainer();
  const pools: WorkersBackend[] = [];
  const threads = args.configs!.split(',');
  for (const t of threads) {
    const m = /^(\d+)w(\+c)?(?:@([\d.]+))?(?:~(\d+))?$/.exec(t);
    if (!m) throw new Error(`--configs: '${t}' is not like 1w, 1w+c, 2w, 1w+c@0.05 (spinMs) or 1w+c~30000 (inlineCost)`);
    const spinMs = m[3] === undefined ? undefined : Number(m[3]);
    // ~N: steps cheaper than N cost units inline, parts no cheaper than N / 2 (the defaults' ratio).
    const inline = m[4] === undefined ? {} : { inlineCost: Number(m[4]), minPartCost: Number(m[4]) / 2 };
    const backend = createWorkersBackend({ threads: Number(m[1]), mainShare: m[2] !== undefined, spinMs, gemm: args.gemm as 'auto' | 'js', ...inline });
    pools.push(backend);
    registerBackend(container, `workers-${t}`, () => backend);
  }
  await Promise.all(pools.map((p) => p.ready()));
  console.log(`workers GEMM path: ${pools[0]?.gemmPath}`);
  console.log(`node ${process.version}, ${os.availableParallelism()} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const rows: Row[] = [];
  const ceilings = new Map<string, Ceiling[]>();
  try {
    for (const id of args.workloads!.split(',')) {
      const w = workload(id);
      const graph = optimize(workloadGraph(w), { level }).graph;
      const x = randomTensor(w.input, 42).data;
      // Each call as `--io` says (harness.ts; default: bound input and output, nothing copied).
      const calls: [string, Awaited<ReturnType<typeof tesseraCall>>][] = [['cpu', await tesseraCall(graph, x, io, { backend: 'cpu' })]];
      for (const t of threads) calls.push([`workers(${t})`, await tesseraCall(graph, x, io, { backend: `workers-${t}`, container })]);
      const sessions: [string, Session][] = calls.map(([name, c]) => [name, c.session]);
      const ref = Object.values(await sessions[0][1].run({ x }))[0];
      for (const [name, s] of sessions.slice(1)) {
        const y = Object.values(await s.run({ x }))[0];
        if (y.some((v, i) => !Object.is(v, ref[i]))) throw new Error(`${id}: ${name} is not bit-identical to cpu`);
      }
      const impls: Impl[] = calls.map(([name, c]) => ({ name, run: c.run }));
      if (trackedRounds) {
        tracked[id] = await trackCeiling(id, level, io, impls, trackedRounds);
        printTracked(id, tracked[id]);
        for (const [, s] of sessions) s.dispose();
        continue;
      }
      // Before and after the timing: two values far apart mean the machine changed phase meanwhile.
      const ceiling = async (when: string) => {
        if (args['no-ceiling']) return;
        const c = await kernelCeiling(id, level, io);
        (ceilings.get(id) ?? ceilings.set(id, []).get(id)!).push(c);
        console.log(`${id.padEnd(8)} 2-thread ceiling ${when} x${c.speedup.toFixed(2)} (cpu backend: main thread alone ${c.soloMain.toFixed(2)} ms, worker alone ${c.soloWorker.toFixed(2)} ms; both at once ${c.pairMain.toFixed(2)} / ${c.pairWorker.toFixed(2)} ms)`);
      };
      await ceiling('before');
      const timings = await timeInterleaved(impls, { warmup: Number(args.warmup), runs: Number(args.runs), block: Number(args.block) });
      await ceiling('after');
      const base = timings.get('cpu')!;
      for (const [name] of sessions) {
        const t = timings.get(name)!;
        rows.push({
          workload: id, impl: name, medianMs: t.median, minMs: t.min, backToBackMs: t.backToBackMedian, firstMs: t.firstMedian,
          speedup: base.median / t.median, speedupBackToBack: base.backToBackMedian / t.backToBackMedian, speedupFirst: base.firstMedian / t.firstMedian,
        });
      }
      for (const [, s] of sessions) s.dispose();
      const line = rows.filter((r) => r.workload === id).map((r) => `${r.impl} ${r.medianMs.toFixed(2)} ms (x${r.speedup.toFixed(2)})`);
      console.log(`${id.padEnd(8)} ${line.join('   ')}`);
    }
  } finally {
    await Promise.all(pools.map((p) => p.dispose()));
  }
  if (trackedRounds) {
    mkdirSync(dirname(args.json!), { recursive: true });
    writeFileSync(args.json!, JSON.stringify({ date: new Date().toISOString(), node: process.version, cores: os.availableParallelism(), configs: threads, tracked }, null, 2));
    console.log(`\nwritten to ${args.json}`);
    return;
  }
  const processCpuMs = cpuMs(cpu0);
  const wallMs = performance.now() - wall0;
  console.log(`\nprocess CPU time (main + workers) ${(processCpuMs / 1000).toFixed(1)} s over ${(wallMs / 1000).toFixed(1)} s wall (x${(processCpuMs / wallMs).toFixed(2)} cores on average)`);
  console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const table = (title: string, ms: (r: Row) => number, x: (r: Row) => number): void => {
    console.log(`\n${title}:\n| workload | ${['cpu', ...threads.map((t) => `workers(${t})`)].join(' | ')} | 2-thread ceiling before / after |`);
    console.log(`|---|${['cpu', ...threads].map(() => '---:').join('|')}|---:|`);
    for (const id of new Set(rows.map((r) => r.workload))) {
      const cells = rows.filter((r) => r.workload === id).map((r) => (r.impl === 'cpu' ? `${ms(r).toFixed(2)} ms` : `${ms(r).toFixed(2)} ms (x${x(r).toFixed(2)})`));
      const c = ceilings.get(id) ?? [];
      console.log(`| ${id} | ${cells.join(' | ')} | ${c.map((x) => `x${x.speedup.toFixed(2)}`).join(' / ')} |`);
    }
  };
  table('median of the calls made back to back', (r) => r.backToBackMs, (r) => r.speedupBackToBack);
  table('median of the first call of each turn (after a 5 ms idle pause)', (r) => r.firstMs, (r) => r.speedupFirst);
  // Minimums too: on a shared VM, phases of a slower host core hit single runs; the minimum shows what the code does.
  console.log(`\nminimum of the runs:\n| workload | ${['cpu', ...threads.map((t) => `workers(${t})`)].join(' | ')} |`);
  console.log(`|---|${['cpu', ...threads].map(() => '---:').join('|')}|`);
  for (const id of new Set(rows.map((r) => r.workload))) {
    const base = rows.find((r) => r.workload === id && r.impl === 'cpu')!.minMs;
    const cells = rows.filter((r) => r.workload === id).map((r) => (r.impl === 'cpu' ? `${r.minMs.toFixed(2)} ms` : `${r.minMs.toFixed(2)} ms (x${(base / r.minMs).toFixed(2)})`));
    console.log(`| ${id} | ${cells.join(' | ')} |`);
  }
  mkdirSync(dirname(args.json!), { recursive: true });
  writeFileSync(args.json!, JSON.stringify({ date: new Date().toISOString(), node: process.version, cores: os.availableParallelism(), loadavg: os.loadavg(), kernelCeilings: Object.fromEntries(ceilings), processCpuMs, wallMs, gemm: pools[0]?.gemmPath, configs: threads, rows }, null, 2));
  console.log(`\nwritten to ${args.json}`);
}

await main();
