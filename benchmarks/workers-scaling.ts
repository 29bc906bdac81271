/**
 * Scaling of the workers backend: median ms of cpu, workers(1) and workers(2) on the benchmark
 * workloads, in one process, round-robin after warm-up. Checks first that the workers' outputs
 * are bit-identical to cpu's.
 *
 *   npx tsx --conditions=@tessera/source benchmarks/workers-scaling.ts [--workloads W1-b1,W2] [--runs 9] [--warmup 2]
 *       [--threads 1,2] [--main-share] [--json benchmarks/results/workers-scaling.json]
 */
import '@tessera/backend-cpu';
import { createWorkersBackend, type WorkersBackend } from '@tessera/backend-workers';
import { randomTensor } from '@tessera/core';
import { workload, workloadGraph } from '@tessera/examples';
import { createContainer, createSession, registerBackend, type Session } from '@tessera/runtime';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { timeInterleaved, type Impl } from './harness.js';

const { values: args } = parseArgs({
  options: {
    workloads: { type: 'string', default: 'W1-b1,W1-b32,W2,W3,W4-1024' },
    runs: { type: 'string', default: '9' },
    warmup: { type: 'string', default: '2' },
    threads: { type: 'string', default: '1,2' },
    'main-share': { type: 'boolean', default: false },
    json: { type: 'string', default: 'benchmarks/results/workers-scaling.json' },
  },
});

/**
 * What 2 threads can get on this machine right now: wall time of a fixed scalar loop on 1 thread
 * vs the same loop on each of 2 threads at once. Another process busy on the cores shows here.
 */
async function parallelCeiling(): Promise<number> {
  const code = `const { parentPort } = require('node:worker_threads');
    parentPort.on('message', (n) => { let a = 1; for (let i = 0; i < n; i++) a = a * 0.999999 + 1e-7; parentPort.postMessage(a); });`;
  const workers = [new Worker(code, { eval: true }), new Worker(code, { eval: true })];
  const run = (w: Worker, n: number) => new Promise((resolve) => { w.once('message', resolve); w.postMessage(n); });
  const N = 200_000_000;
  await Promise.all(workers.map((w) => run(w, N / 10))); // warm-up
  const time = async (ws: Worker[]) => { const t0 = performance.now(); await Promise.all(ws.map((w) => run(w, N))); return performance.now() - t0; };
  const one = await time(workers.slice(0, 1));
  const two = await time(workers);
  await Promise.all(workers.map((w) => w.terminate()));
  return (2 * one) / two;
}

interface Row {
  workload: string;
  impl: string;
  medianMs: number;
  minMs: number;
  speedup: number;
}

async function main(): Promise<void> {
  const container = createContainer();
  const pools: WorkersBackend[] = [];
  const threads = args.threads!.split(',').map(Number);
  for (const t of threads) {
    const backend = createWorkersBackend({ threads: t, mainShare: args['main-share'] });
    pools.push(backend);
    registerBackend(container, `workers-${t}`, () => backend);
  }
  await Promise.all(pools.map((p) => p.ready()));
  console.log(`node ${process.version}, ${os.availableParallelism()} cores, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const ceilingBefore = await parallelCeiling();
  console.log(`2-thread ceiling now (same loop on 2 threads vs 1, ideal 2.00): x${ceilingBefore.toFixed(2)}`);
  const rows: Row[] = [];
  try {
    for (const id of args.workloads!.split(',')) {
      const w = workload(id);
      const graph = workloadGraph(w);
      const x = randomTensor(w.input, 42).data;
      const sessions: [string, Session][] = [['cpu', await createSession(graph, { backend: 'cpu' })]];
      for (const t of threads) sessions.push([`workers(${t})`, await createSession(graph, { backend: `workers-${t}`, container })]);
      const ref = Object.values(await sessions[0][1].run({ x }))[0];
      for (const [name, s] of sessions.slice(1)) {
        const y = Object.values(await s.run({ x }))[0];
        if (y.some((v, i) => !Object.is(v, ref[i]))) throw new Error(`${id}: ${name} is not bit-identical to cpu`);
      }
      const impls: Impl[] = sessions.map(([name, s]) => ({ name, run: () => s.run({ x }) }));
      const timings = await timeInterleaved(impls, { warmup: Number(args.warmup), runs: Number(args.runs) });
      const base = timings.get('cpu')!.median;
      for (const [name] of sessions) {
        const t = timings.get(name)!;
        rows.push({ workload: id, impl: name, medianMs: t.median, minMs: t.min, speedup: base / t.median });
      }
      for (const [, s] of sessions) s.dispose();
      const line = rows.filter((r) => r.workload === id).map((r) => `${r.impl} ${r.medianMs.toFixed(2)} ms (x${r.speedup.toFixed(2)})`);
      console.log(`${id.padEnd(8)} ${line.join('   ')}`);
    }
  } finally {
    await Promise.all(pools.map((p) => p.dispose()));
  }
  const ceilingAfter = await parallelCeiling();
  console.log(`\n2-thread ceiling before / after: x${ceilingBefore.toFixed(2)} / x${ceilingAfter.toFixed(2)}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log(`\n| workload | ${['cpu', ...threads.map((t) => `workers(${t})`)].join(' | ')} |`);
  console.log(`|---|${['cpu', ...threads].map(() => '---:').join('|')}|`);
  for (const id of new Set(rows.map((r) => r.workload))) {
    const cells = rows.filter((r) => r.workload === id).map((r) => (r.impl === 'cpu' ? `${r.medianMs.toFixed(2)} ms` : `${r.medianMs.toFixed(2)} ms (x${r.speedup.toFixed(2)})`));
    console.log(`| ${id} | ${cells.join(' | ')} |`);
  }
  mkdirSync(dirname(args.json!), { recursive: true });
  writeFileSync(args.json!, JSON.stringify({ date: new Date().toISOString(), node: process.version, cores: os.availableParallelism(), loadavg: os.loadavg(), parallelCeiling: [ceilingBefore, ceilingAfter], mainShare: args['main-share'], rows }, null, 2));
  console.log(`\nwritten to ${args.json}`);
}

await main();
