import '@tessera/backend-cpu';
import '@tessera/backend-workers';
import { randomTensor } from '@tessera/core';
import { workload, workloadGraph } from '@tessera/examples';
import { createSession } from '@tessera/runtime';
const id = process.argv[2] ?? 'W1-b32';
const graph = workloadGraph(workload(id));
const x = randomTensor(workload(id).input, 1).data;
const out = () => Object.fromEntries(Object.entries(graph.outputs).map(([k, v]) => [k, new Float32Array(graph.value(v).shape.reduce((a, b) => a * b, 1))]));
const cpu = await createSession(graph, { backend: 'cpu' });
const wk = await createSession(graph, { backend: 'workers' });
const oc = out(), ow = out();
for (let i = 0; i < 5; i++) { await cpu.run({ x }, { outputs: oc }); await wk.run({ x }, { outputs: ow }); }
const lines: string[] = [];
for (let turn = 0; turn < Number(process.env.TURNS ?? 15); turn++) {
  const row: string[] = [];
  for (const [n, s, o] of [['cpu', cpu, oc], ['wk', wk, ow]] as const) {
    await new Promise((res) => setTimeout(res, 5));
    const ts = [];
    for (let r = 0; r < 4; r++) { const t0 = performance.now(); await s.run({ x }, { outputs: o }); ts.push((performance.now() - t0).toFixed(2)); }
    row.push(`${n} ${ts.join(' ')}`);
  }
  lines.push(row.join(' | '));
}
console.log(lines.join('\n'));


process.exit(0);
