/**
 * Browser benchmark: the workloads of examples/src/workloads.json on Tessera `webgl`, `cpu` and
 * `workers` and on TensorFlow.js `tfjs-backend-webgl` and `tfjs-backend-wasm` 4.22, in the same
 * page (same SwiftShader device), interleaved round-robin. Each call includes reading the result
 * back. The first call (shader compilation) is reported apart; then warm-up calls (>= `WARMUP` and >= `WARMUP_MS`), then `RUNS`
 * timed calls: min and median ms. The networks (W6 ResNet-50, W7 MobileNetV2) run their O1 graph
 * (batch norm folded, fused), the peers the same graph (benchmarks/peers/tfjs-graph.ts); the
 * other workloads the graph as built.
 * Results: a table on stdout and benchmarks/browser/results.json.
 * Environment: VITE_BENCH_WORKLOADS=W2,W6 (default W1-b32,W2,W3,W4-512,W5,W6,W7), VITE_BENCH_RUNS=7,
 * VITE_BENCH_LEVEL=O0|O1|O2 (all workloads at that level), VITE_BENCH_WARMUP_MS=1000.
 */
import '@tessera/backend-cpu';
import '@tessera/backend-webgl';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { OrtBackend, type OrtRuntime } from '@tessera/backend-ort';
import { registerWorkersBackend } from '@tessera/backend-workers';
import { numel, type Graph } from '@tessera/core';
import { workload, workloadGraph, type Workload } from '@tessera/examples';
import { optimize } from '@tessera/passes';
import { createSession, defaultContainer, getBackend } from '@tessera/runtime';
import { expect, it } from 'vitest';
import { commands } from 'vitest/browser';
import { ortWebName, proxyRuntime } from '../peers/ort-web-proxy.js';
import { tfjsGraph } from '../peers/tfjs-graph.js';

const env = (import.meta as unknown as { env: Record<string, string | undefined> }).env;
const IDS = env.VITE_BENCH_WORKLOADS?.split(',') ?? ['W1-b32', 'W2', 'W3', 'W4-512', 'W5', 'W6', 'W7'];
const RUNS = Number(env.VITE_BENCH_RUNS ?? 7);
const WARMUP = 2;
/** Warm-up lasts at least this long per implementation, as in Node (harness.ts): WebAssembly tiers up from its baseline compiler only after a function has run a while. */
const WARMUP_MS = Number(env.VITE_BENCH_WARMUP_MS ?? 1000);
const CPU_MAX_GFLOP = 0.5; // Tessera cpu / workers and tfjs-wasm in the page where one call stays short, and on the networks

// The page serves the repository: tfjs' wasm binaries from its node_modules.
setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
registerWorkersBackend(defaultContainer);

interface Impl {
  name: string;
  first: number;
  times: number[];
  call: () => Promise<Float32Array>;
  dispose: () => void;
}

const input = (w: Workload) => new Float32Array(numel(w.input)).map((_, i) => Math.sin(i * 0.37));

/** The graph a workload is timed on: O1 for the networks, the graph as built for the others (or VITE_BENCH_LEVEL). */
function benchGraph(w: Workload): Graph {
  const level = env.VITE_BENCH_LEVEL ?? ('network' in w ? 'O1' : 'O0');
  return optimize(workloadGraph(w), { level }).graph;
}

/** At least WARMUP calls and WARMUP_MS ms of calls. */
async function warmUp(impl: Impl): Promise<void> {
  const t0 = performance.now();
  for (let n = 0; n < WARMUP || performance.now() - t0 < WARMUP_MS; n++) await impl.call();
}

async function tesseraImpl(w: Workload, graph: Graph, backend: string): Promise<Impl> {
  const session = await createSession(graph, { backend });
  const x = input(w);
  return {
    name: `tessera-${backend}`,
    first: 0,
    times: [],
    call: async () => Object.values(await session.run({ x }))[0],
    dispose: () => session.dispose(),
  };
}

/** onnxruntime-web with `threads` threads, each in a worker of its own (../peers/ort-web-proxy.ts says why), started once per page. */
const ortRuntimes = new Map<number, OrtRuntime>();
function ortRuntime(threads: number): OrtRuntime {
  let runtime = ortRuntimes.get(threads);
  if (!runtime) {
    const worker = new Worker(new URL('./ort-web-worker.ts', import.meta.url), { type: 'module', name: `ort-web:${threads}` });
    runtime = proxyRuntime({ postMessage: (m) => worker.postMessage(m), listen: (f) => worker.addEventListener('message', (e) => f(e.data)) });
    ortRuntimes.set(threads, runtime);
  }
  return runtime;
}

/** ONNX Runtime web on the graph Tessera exports, with `threads` threads (the page is cross-origin isolated, so they are real ones). */
async function ortImpl(w: Workload, graph: Graph, threads: number): Promise<Impl> {
  const name = ortWebName(threads);
  const executable = await new OrtBackend(name, async () => ortRuntime(threads), { threads, exactEdgeCases: false }).compile(graph, null as never);
  const x = input(w);
  const feed = { [graph.inputs[0].name]: x };
  return { name, first: 0, times: [], call: async () => Object.values(await executable.run(feed))[0], dispose: () => executable.dispose() };
}

/** The same graph in tfjs ops (peers/tfjs-graph.ts) on tfjs' `backend`, made current before each call. */
async function tfjsImpl(w: Workload, graph: Graph, backend: 'webgl' | 'wasm'): Promise<Impl> {
  await tf.setBackend(backend);
  await tf.ready();
  const peer = tfjsGraph(graph);
  const x = tf.tensor(input(w), w.input);
  return {
    name: `tfjs-${backend}`,
    first: 0,
    times: [],
    call: async () => {
      if (tf.getBackend() !== backend) await tf.setBackend(backend);
      const y = tf.tidy(() => peer.forward(x));
      const d = (await y.data()) as Float32Array;
      y.dispose();
      return d;
    },
    dispose: () => {
      x.dispose();
      peer.dispose();
    },
  };
}

const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

it('browser workloads: tessera webgl, cpu, workers vs tfjs-webgl, tfjs-wasm, ONNX Runtime web', async () => {
  const webgl = getBackend(defaultContainer, 'webgl') as unknown as { device: { renderer: string } };
  const rows: Record<string, unknown>[] = [];
  for (const id of IDS) {
    const w = workload(id);
    const graph = benchGraph(w);
    const impls: Impl[] = [await tesseraImpl(w, graph, 'webgl'), await tfjsImpl(w, graph, 'webgl')];
    if (w.gflop <= CPU_MAX_GFLOP || 'network' in w) {
      impls.push(await tesseraImpl(w, graph, 'cpu'), await tesseraImpl(w, graph, 'workers'), await tfjsImpl(w, graph, 'wasm'));
      if (env.VITE_BENCH_ORT !== '0') impls.push(await ortImpl(w, graph, 1), await ortImpl(w, graph, 2));
    }
    let reference: Float32Array | null = null;
    for (const impl of impls) {
      const t0 = performance.now();
      const y = await impl.call();
      impl.first = performance.now() - t0;
      // Same data in, the same numbers out (loosely: this is a benchmark, the tests check bounds),
      // relative to the output's largest magnitude (Winograd's error is not relative per element).
      if (!reference) reference = y;
      else {
        let diff = 0;
        let scale = 1e-3;
        for (let i = 0; i < y.length; i++) {
          diff = Math.max(diff, Math.abs(y[i] - reference[i]));
          scale = Math.max(scale, Math.abs(reference[i]));
        }
        expect(diff / scale, `${impl.name} vs ${impls[0].name} on ${id}`).toBeLessThan(1e-3);
      }
    }
    for (const impl of impls) await warmUp(impl);
    for (let r = 0; r < RUNS; r++) {
      for (const impl of impls) {
        const t0 = performance.now();
        await impl.call();
        impl.times.push(performance.now() - t0);
      }
    }
    for (const impl of impls) {
      const med = median(impl.times);
      rows.push({
        workload: id,
        impl: impl.name,
        firstMs: impl.first,
        minMs: Math.min(...impl.times),
        medianMs: med,
        gflops: w.gflop / (med / 1000),
        times: impl.times,
      });
      impl.dispose();
    }
  }
  /** Speed-up of a Tessera implementation over a peer on a workload (medians); NaN where one of them did not run. */
  const ratio = (id: string, tessera = 'tessera-webgl', peer = 'tfjs-webgl') => {
    const ms = (impl: string) => (rows.find((r) => r.workload === id && r.impl === impl)?.medianMs as number | undefined) ?? NaN;
    return ms(peer) / ms(tessera);
  };
  const lines = [
    `| workload | implementation | first call ms | min ms | median ms | GFLOP/s (median) |`,
    `|---|---|---:|---:|---:|---:|`,
    ...rows.map(
      (r) =>
        `| ${r.workload} | ${r.impl} | ${fmt(r.firstMs as number)} | ${fmt(r.minMs as number)} | ${fmt(r.medianMs as number)} | ${(r.gflops as number).toFixed(2)} |`,
    ),
    '',
    `speed-up of tessera-webgl over tfjs-webgl (median): ${IDS.map((id) => `${id} ${ratio(id).toFixed(2)}x`).join(', ')}`,
    `speed-up of tessera-cpu / tessera-workers over tfjs-wasm (median): ${IDS.map((id) => `${id} ${ratio(id, 'tessera-cpu', 'tfjs-wasm').toFixed(2)}x / ${ratio(id, 'tessera-workers', 'tfjs-wasm').toFixed(2)}x`).join(', ')}`,
    `speed-up of tessera-cpu over ort-web 1 thread / tessera-workers over ort-web 2 threads (median): ${IDS.map((id) => `${id} ${ratio(id, 'tessera-cpu', ortWebName(1)).toFixed(2)}x / ${ratio(id, 'tessera-workers', ortWebName(2)).toFixed(2)}x`).join(', ')}`,
  ];
  console.log(`\nrenderer: ${webgl.device.renderer}; cross-origin isolated: ${globalThis.crossOriginIsolated}; ${RUNS} timed calls, round-robin, after >= ${WARMUP} warm-up calls and >= ${WARMUP_MS} ms per implementation\n${lines.join('\n')}\n`);
  const report = {
    date: new Date().toISOString(),
    userAgent: navigator.userAgent,
    renderer: webgl.device.renderer,
    runs: RUNS,
    warmup: WARMUP,
    results: rows,
    speedup: Object.fromEntries(IDS.map((id) => [id, ratio(id)])),
    speedupOverTfjsWasm: Object.fromEntries(IDS.map((id) => [id, { cpu: ratio(id, 'tessera-cpu', 'tfjs-wasm'), workers: ratio(id, 'tessera-workers', 'tfjs-wasm') }])),
  };
  await commands.writeFile('benchmarks/browser/results.json', JSON.stringify(report, null, 2));
});
