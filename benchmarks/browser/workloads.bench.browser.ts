/**
 * Browser benchmark: the workloads of examples/src/workloads.json on Tessera `webgl` and `cpu` and on
 * TensorFlow.js `tfjs-backend-webgl` 4.22, in the same page (same SwiftShader device), interleaved
 * round-robin. Each call includes reading the result back. The first call (shader compilation)
 * is reported apart; then `WARMUP` calls, then `RUNS` timed calls: min and median ms.
 * Results: a table on stdout and benchmarks/browser/results.json.
 * Environment: VITE_BENCH_WORKLOADS=W2,W4-1024 (default W1-b32,W2,W3,W4-512,W5), VITE_BENCH_RUNS=7.
 */
import '@tessera/backend-cpu';
import '@tessera/backend-webgl';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import { numel } from '@tessera/core';
import { workload, workloadGraph, type Workload } from '@tessera/examples';
import { createSession, defaultContainer, getBackend } from '@tessera/runtime';
import { expect, it } from 'vitest';
import { commands } from 'vitest/browser';

const env = (import.meta as unknown as { env: Record<string, string | undefined> }).env;
const IDS = env.VITE_BENCH_WORKLOADS?.split(',') ?? ['W1-b32', 'W2', 'W3', 'W4-512', 'W5'];
const RUNS = Number(env.VITE_BENCH_RUNS ?? 7);
const WARMUP = 2;
const CPU_MAX_GFLOP = 0.5; // Tessera cpu in the page only where one call stays short

interface Impl {
  name: string;
  first: number;
  times: number[];
  call: () => Promise<Float32Array>;
  dispose: () => void;
}

async function tesseraImpl(w: Workload, backend: string): Promise<Impl> {
  const graph = workloadGraph(w);
  const session = await createSession(graph, { backend });
  const x = new Float32Array(numel(w.input)).map((_, i) => Math.sin(i * 0.37));
  const impl: Impl = {
    name: `tessera-${backend}`,
    first: 0,
    times: [],
    call: async () => (await session.run({ x })).y,
    dispose: () => session.dispose(),
  };
  return impl;
}

/** The same layers with tfjs ops (conv2d, add, relu, maxPool, reshape, matMul), weights as tensors. */
async function tfjsImpl(w: Workload): Promise<Impl> {
  await tf.setBackend('webgl');
  await tf.ready();
  const graph = workloadGraph(w);
  const consts = new Map<string, tf.Tensor>();
  for (const [name, t] of graph.constants) consts.set(name, tf.tensor(t.data, [...t.shape]));
  const x = tf.tensor(new Float32Array(numel(w.input)).map((_, i) => Math.sin(i * 0.37)), w.input);
  const forward = () =>
    tf.tidy(() => {
      let y: tf.Tensor = x;
      for (const node of graph.nodes) {
        const arg = (i: number) => consts.get(node.inputs[i]) ?? y;
        const a = node.attrs as Record<string, unknown>;
        switch (node.op) {
          case 'conv2d':
            y = tf.conv2d(y as tf.Tensor4D, arg(1) as tf.Tensor4D, a.strides as [number, number], (a.padding as string).toLowerCase() as 'same');
            break;
          case 'bias_add':
            y = tf.add(y, arg(1));
            break;
          case 'relu':
            y = tf.relu(y);
            break;
          case 'maxpool':
            y = tf.maxPool(y as tf.Tensor4D, a.ksize as [number, number], a.strides as [number, number], (a.padding as string).toLowerCase() as 'same');
            break;
          case 'reshape':
            y = tf.reshape(y, node.output.shape as number[]);
            break;
          case 'matmul':
            y = tf.matMul(y as tf.Tensor2D, arg(1) as tf.Tensor2D);
            break;
          default:
            throw new Error(`no tfjs mapping for ${node.op}`);
        }
      }
      return y;
    });
  return {
    name: 'tfjs-webgl',
    first: 0,
    times: [],
    call: async () => {
      const y = forward();
      const d = (await y.data()) as Float32Array;
      y.dispose();
      return d;
    },
    dispose: () => {
      x.dispose();
      for (const t of consts.values()) t.dispose();
    },
  };
}

const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

it('browser workloads: tessera webgl vs tfjs-webgl (and tessera cpu)', async () => {
  const webgl = getBackend(defaultContainer, 'webgl') as unknown as { device: { renderer: string } };
  const rows: Record<string, unknown>[] = [];
  for (const id of IDS) {
    const w = workload(id);
    const impls: Impl[] = [await tesseraImpl(w, 'webgl'), await tfjsImpl(w)];
    if (w.gflop <= CPU_MAX_GFLOP) impls.push(await tesseraImpl(w, 'cpu'));
    let reference: Float32Array | null = null;
    for (const impl of impls) {
      const t0 = performance.now();
      const y = await impl.call();
      impl.first = performance.now() - t0;
      // Same data in, the same numbers out (loosely: this is a benchmark, the tests check bounds).
      if (!reference) reference = y;
      else {
        let maxRel = 0;
        for (let i = 0; i < y.length; i++) maxRel = Math.max(maxRel, Math.abs(y[i] - reference[i]) / (Math.abs(reference[i]) + 1e-3));
        expect(maxRel, `${impl.name} vs ${impls[0].name} on ${id}`).toBeLessThan(1e-3);
      }
    }
    for (let r = 0; r < WARMUP + RUNS; r++) {
      for (const impl of impls) {
        const t0 = performance.now();
        await impl.call();
        if (r >= WARMUP) impl.times.push(performance.now() - t0);
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
  const ratio = (id: string) => {
    const t = rows.find((r) => r.workload === id && r.impl === 'tessera-webgl')!.medianMs as number;
    const p = rows.find((r) => r.workload === id && r.impl === 'tfjs-webgl')!.medianMs as number;
    return p / t;
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
  ];
  console.log(`\nrenderer: ${webgl.device.renderer}; ${RUNS} timed calls after ${WARMUP} warm-ups, round-robin\n${lines.join('\n')}\n`);
  const report = {
    date: new Date().toISOString(),
    userAgent: navigator.userAgent,
    renderer: webgl.device.renderer,
    runs: RUNS,
    warmup: WARMUP,
    results: rows,
    speedup: Object.fromEntries(IDS.map((id) => [id, ratio(id)])),
  };
  await commands.writeFile('benchmarks/browser/results.json', JSON.stringify(report, null, 2));
});
