/**
 * `pnpm bench`: the workloads of examples/src/workloads.json on Tessera's cpu backend (the graph as built, and
 * after O1 / O2 where they change it), Tessera's workers backend with 1 and 2 threads, and, in
 * the same process, TensorFlow.js cpu and wasm (1 thread). Every implementation's output is
 * checked against the float64 reference (per-element bounds) before timing. Prints a table,
 * writes JSON.
 *
 * Tessera sessions bind their input and output to the backend's memory (`bindIO`, like ONNX
 * Runtime's IOBinding): the input is written once and a call copies nothing, as a serving loop
 * that decodes straight into `session.io` would. --io buffers copies the input in each call and
 * the output into a buffer allocated once; --io fresh allocates the output per call like tfjs'
 * dataSync() (harness.ts).
 *
 * Every implementation is warmed up (--warmup calls and --warmup-ms ms), then they take turns of
 * --block calls (default 3), each after the harness settles (a garbage collection, a 5 ms pause, a
 * wait until the process is idle): the first call of a turn is an occasional call (the workers
 * pool asleep), the others run back to back, as an inference loop would (the pool's threads still
 * awake). The speed-ups over tessera-cpu are given for both, each against tessera-cpu's calls of
 * the same kind. The row `tessera-cpu again` is a second session of the same graph on the same
 * backend: its ratio to tessera-cpu shows how far this run's ratios move by noise alone. Each
 * implementation makes --runs timed calls, or more on a fast workload: enough for tessera-cpu's
 * calls to take --min-ms (default 300), at most --max-runs (default 300); the table's last column
 * says how many.
 *
 * Before and after each workload's timing it measures the workload's 2-thread ceiling
 * (benchmarks/ceiling: the cpu backend on the main thread alone vs on the main thread and a
 * worker at once): two values far apart mean the machine changed phase during the timing.
 *
 * With --ort, ONNX Runtime joins as peers (peers/ort.ts): native, and WebAssembly with 1 and 2 threads.
 *
 *   pnpm bench [--workloads W2,W3] [--ort] [--runs 9] [--warmup 2] [--warmup-ms 1000] [--block 3] [--min-ms 300] [--max-runs 300] [--io bound|buffers|fresh] [--no-ceiling] [--json benchmarks/results/cpu.json]
 */
import { cpuSimdLevel } from '@tessera/backend-cpu';
import { createWorkersBackend, type WorkersBackend } from '@tessera/backend-workers';
import { evaluate, randomTensor, type Graph } from '@tessera/core';
import { WORKLOADS, workloadGraph, type Workload } from '@tessera/examples';
import { defaultContainer, registerBackend, type Session } from '@tessera/runtime';
import Table from 'cli-table3';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { kernelCeiling } from './ceiling/index.js';
import { ioMode, scalarPeakGflops, tesseraCall, timeInterleaved, type Impl } from './harness.js';
import { ORT_PEERS, registerOrtPeers } from './peers/ort.js';
import { tfjsRunner, useTfjsBackend } from './peers/tfjs.js';
import { extraVariants } from './variants.js';

const { values: args } = parseArgs({
  options: {
    workloads: { type: 'string' },
    runs: { type: 'string', default: '9' },
    warmup: { type: 'string', default: '2' },
    'warmup-ms': { type: 'string', default: '1000' },
    'min-ms': { type: 'string', default: '300' },
    'max-runs': { type: 'string', default: '300' },
    json: { type: 'string', default: 'benchmarks/results/cpu.json' },
    'no-check': { type: 'boolean', default: false },
    io: { type: 'string', default: 'bound' },
    block: { type: 'string', default: '3' },
    'no-ceiling': { type: 'boolean', default: false },
    ort: { type: 'boolean', default: false },
  },
});

/** How Tessera calls get their input and give their output (harness.ts). */
const io = ioMode(args.io);

interface Row {
  workload: string;
  impl: string;
  medianMs: number;
  minMs: number;
  /** Medians of the calls made back to back, and of the first calls of the turns. */
  backToBackMs: number;
  firstMs: number;
  gflops: number;
  vsTfjsCpu: number;
  /**
   * Speed-up over tessera-cpu (the same graph): medians of all calls, of back-to-back calls and of
   * first calls after the idle pause; null for the peers.
   */
  vsCpu: { median: number; backToBack: number; first: number } | null;
  ofScalarPeak: number;
  /** Timed calls (the same for every implementation of a workload: --runs, or more for --min-ms). */
  calls: number;
}

/**
 * The workers backend with 1 thread (one worker; the calling thread waits) and 2 threads (one
 * worker plus the calling thread: the default on a 2-core machine).
 */
const WORKERS: readonly { name: string; options: Parameters<typeof createWorkersBackend>[0] }[] = [
  { name: 'tessera-workers 1 thread', options: { threads: 1, mainShare: false } },
  { name: 'tessera-workers 2 threads', options: { threads: 1, mainShare: true } },
];

const pools: WorkersBackend[] = WORKERS.map(({ name, options }) => {
  const backend = createWorkersBackend(options);
  registerBackend(defaultContainer, name, () => backend);
  return backend;
});

if (args.ort) registerOrtPeers();

async function main(): Promise<void> {
  const wanted = args.workloads?.split(',').map((s) => s.toLowerCase());
  const workloads = WORKLOADS.filter((w) => !wanted || wanted.includes(w.id.toLowerCase()));
  const peak = scalarPeakGflops();
  console.log(`plain JavaScript register-only multiply-add peak: ${peak.toFixed(2)} GFLOP/s (1 core)`);
  console.log(`cpu GEMM: WebAssembly ${cpuSimdLevel() === 'relaxed' ? 'relaxed SIMD (fused multiply-add)' : cpuSimdLevel() === 'simd' ? 'SIMD (multiply, then add)' : 'unavailable (TypeScript kernels)'}\n`);
  const rows: Row[] = [];
  const ceilings: Record<string, number[]> = {};
  // What 2 threads can get on a workload right now (benchmarks/ceiling): the workers rows can
  // only be read next to it on a shared VM.
  const ceiling = async (id: string) => {
    if (!args['no-ceiling']) (ceilings[id] ??= []).push((await kernelCeiling(id, 'O0', io)).speedup);
  };
  for (const w of workloads) {
    await ceiling(w.id);
    rows.push(...(await benchWorkload(w, peak)));
    await ceiling(w.id);
  }
  await Promise.all(pools.map((p) => p.dispose()));
  printTable(rows, peak);
  if (!args['no-ceiling']) {
    console.log(`2-thread ceiling over tessera-cpu, before / after each workload's timing: ${Object.entries(ceilings).map(([id, [before, after]]) => `${id} x${before.toFixed(2)} / x${after.toFixed(2)}`).join(', ')}`);
  }
  mkdirSync(dirname(args.json!), { recursive: true });
  writeFileSync(args.json!, JSON.stringify({ date: new Date().toISOString(), node: process.version, scalarPeakGflops: peak, ceilings, rows }, null, 2));
  console.log(`\nwritten to ${args.json}`);
}

async function benchWorkload(w: Workload, peak: number): Promise<Row[]> {
  const graph = workloadGraph(w);
  const x = randomTensor(w.input, 42).data;
  const impls: (Impl & { output: () => Promise<Float32Array> })[] = [];
  const disposers: (() => void)[] = [];

  const sessions: Session[] = [];
  const addSession = async (name: string, g: Graph, backend = 'cpu') => {
    const { session, run } = await tesseraCall(g, x, io, { backend });
    disposers.push(() => session.dispose());
    sessions.push(session);
    const output = async () => Object.values(await session.run({ x }))[0];
    impls.push({ name, run, output });
  };
  /** The cpu backend's arena for this graph, with buffer reuse (the plan) and without (every buffer apart). */
  const printArena = (id: string, level: string, at: number) => {
    const { peakBytes, noReuseBytes } = sessions[at].stats;
    console.log(`${id} ${level} on cpu: arena ${mb(peakBytes)} with buffer reuse, ${mb(noReuseBytes)} without (x${(noReuseBytes / peakBytes).toFixed(2)})`);
  };
  await addSession('tessera-cpu', graph); // O0: the graph as built
  printArena(w.id, 'O0', impls.length - 1);
  const variants = extraVariants(graph);
  for (const v of variants) {
    await addSession(v.name, v.graph);
    printArena(w.id, v.name.split(' ').at(-1)!, impls.length - 1);
  }
  for (const { name } of WORKERS) await addSession(name, graph, name);
  // Two threads on the O1 graph too, where it differs (the networks: batch norm folded, fused).
  const o1 = variants.find((v) => v.name.endsWith('O1'));
  if (o1) await addSession(`${WORKERS[1].name} O1`, o1.graph, WORKERS[1].name);
  // ONNX Runtime (--ort) runs the graph as built: its own optimizer fuses and folds at load.
  if (args.ort) for (const name of ORT_PEERS) await addSession(name, graph, name);
  // A second session of tessera-cpu, timed in its own place of the rotation: the ratio between
  // two identical sessions is how far this run's ratios move by noise alone.
  await addSession('tessera-cpu again', graph);
  // tfjs-cpu takes seconds per call on a whole network: the networks' peer is tfjs-wasm alone, on
  // the O1 graph (batch norm folded, fused), as tfjs' converter makes of a Keras model.
  const network = 'network' in w;
  const peerGraph = network ? (variants.find((v) => v.name.endsWith('O1'))?.graph ?? graph) : graph;
  for (const backend of network ? (['wasm'] as const) : (['cpu', 'wasm'] as const)) {
    await useTfjsBackend(backend);
    const peer = tfjsRunner(peerGraph);
    disposers.push(peer.dispose);
    const enter = () => useTfjsBackend(backend);
    const output = async () => peer.run(x);
    impls.push({ name: `tfjs-${backend}`, enter, run: output, output });
  }

  if (!args['no-check']) await checkAgreement(w, graph, x, impls);
  const timings = await timeInterleaved(impls, {
    warmup: Number(args.warmup), warmupMs: Number(args['warmup-ms']), runs: Number(args.runs), block: Number(args.block),
    minMs: Number(args['min-ms']), maxRuns: Number(args['max-runs']),
  });
  disposers.forEach((d) => d());
  const base = timings.get('tfjs-cpu')?.median ?? NaN;
  const cpu = timings.get('tessera-cpu')!;
  return impls.map(({ name }) => {
    const t = timings.get(name)!;
    const gflops = w.gflop / (t.median / 1000);
    const vsCpu = name.startsWith('tessera') ? { median: cpu.median / t.median, backToBack: cpu.backToBackMedian / t.backToBackMedian, first: cpu.firstMedian / t.firstMedian } : null;
    return { workload: w.id, impl: name, medianMs: t.median, minMs: t.min, backToBackMs: t.backToBackMedian, firstMs: t.firstMedian, gflops, vsTfjsCpu: base / t.median, vsCpu, ofScalarPeak: gflops / peak, calls: t.samples.length };
  });
}

/**
 * Every implementation must agree with the float64 reference within its per-element bound. A
 * whole network is checked against tessera-cpu (O0) instead (networkAgreement).
 */
async function checkAgreement(w: Workload, graph: Graph, x: Float32Array, impls: { name: string; enter?: () => Promise<void>; output: () => Promise<Float32Array> }[]) {
  if ('network' in w) return networkAgreement(w, impls);
  const ref = Object.values(evaluate(graph, { x }))[0];
  for (const impl of impls) {
    await impl.enter?.();
    const y = await impl.output();
    let worst = 0;
    for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i] - ref.value[i]) / ref.bound[i]);
    if (!(worst <= 1)) throw new Error(`${w.id}: ${impl.name} disagrees with the reference (worst error ${worst.toFixed(3)} of its bound)`);
    console.log(`${w.id}: ${impl.name} agrees with the float64 reference (worst error ${worst.toExponential(2)} of its bound)`);
  }
}

/**
 * Largest difference in a class probability between two float32 implementations of a whole
 * network that the benchmark accepts. The float64 reference is no judge here: it takes minutes on
 * ResNet-50 at 224x224, and its bound, carried through 50 layers, grows far beyond the values.
 * tests/networks.test.ts checks the cpu backend layer by layer against it instead; the others are
 * held to cpu's probabilities, where a wrong layer moves them by far more than this.
 */
const NETWORK_TOLERANCE = 1e-4;

async function networkAgreement(w: Workload, impls: { name: string; enter?: () => Promise<void>; output: () => Promise<Float32Array> }[]) {
  const expected = await impls[0].output();
  for (const impl of impls.slice(1)) {
    await impl.enter?.();
    const y = await impl.output();
    let worst = 0;
    for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i] - expected[i]));
    if (!(worst <= NETWORK_TOLERANCE)) throw new Error(`${w.id}: ${impl.name} disagrees with ${impls[0].name} (a class probability off by ${worst.toExponential(2)})`);
    console.log(`${w.id}: ${impl.name} agrees with ${impls[0].name} (class probabilities within ${worst.toExponential(2)}; tolerance ${NETWORK_TOLERANCE})`);
  }
}

function printTable(rows: Row[], peak: number): void {
  const head = ['workload', 'implementation', 'median ms', 'min ms', 'GFLOP/s', 'x tfjs-cpu', 'x tessera-cpu', 'x tessera-cpu back to back', 'x tessera-cpu 1st call', '% JS peak', 'calls'];
  const table = new Table({ style: { head: [], border: [] }, head });
  const ratio = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '' : x.toFixed(2));
  for (const r of rows) {
    const cells = [r.medianMs.toFixed(2), r.minMs.toFixed(2), r.gflops.toFixed(2), r.vsTfjsCpu.toFixed(2), ratio(r.vsCpu?.median), ratio(r.vsCpu?.backToBack), ratio(r.vsCpu?.first)];
    table.push([r.workload, r.impl, ...cells.map((c) => (c === 'NaN' ? '' : c)), `${(100 * r.ofScalarPeak).toFixed(0)}%`, String(r.calls)]);
  }
  console.log(table.toString());
  console.log(`GFLOP/s at the median of all calls; % JS peak = fraction of the ${peak.toFixed(2)} GFLOP/s scalar multiply-add peak.`);
  console.log('x tessera-cpu: median of all calls; then medians of the calls made back to back within a turn, and of the first call of each turn (after the harness settles: a garbage collection, a 5 ms pause, a wait until the process is idle).');
  console.log(`Tessera calls: --io ${io} (harness.ts); tfjs calls include tf.tensor(x) and dataSync().`);
}

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

await main();
