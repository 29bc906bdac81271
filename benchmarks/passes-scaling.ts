/**
 * How the O2 pass pipeline scales with graph size: random graphs of about 500 / 1,000 / 2,000 /
 * 4,000 nodes (the passes' property-test generator, operands picked among recent values so most
 * nodes are live), median of several runs in one process. The rewrite engine is linear (one sweep
 * from the outputs up, one graph construction per sweep), so time per node should stay flat.
 *
 *   npx tsx --conditions=@tessera/source benchmarks/passes-scaling.ts
 */
import { prng, type Graph } from '@tessera/core';
import { PassManager } from '@tessera/passes';
import { STEP_KINDS, buildGraph, type Step } from '../packages/passes/test/arbitrary.js';

const SIZES = [500, 1000, 2000, 4000];
const RUNS = Number(process.env.RUNS ?? 11);

/** A random graph of at least `target` nodes. */
function graphOfSize(target: number, seed: number): Graph {
  const rand = prng(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const steps: Step[] = [];
  let g: Graph | undefined;
  let estimate = Math.ceil(target / 2.5);
  for (;;) {
    while (steps.length < estimate) steps.push({ kind: int(STEP_KINDS.length), a: int(1000), b: int(1000), c: int(1000), d: int(1000), e: int(1000) });
    g = liveSinks(buildGraph({ seed, n: 1, h: 7, w: 7, c: 3, steps, recent: true }));
    if (g.nodes.length >= target) break;
    estimate = Math.ceil(steps.length * (target / g.nodes.length) * 1.02) + 1;
  }
  return g;
}

/** Makes every node without consumers an output (except the generator's deliberate dead branches' relus), so most nodes are live. */
function liveSinks(g: Graph): Graph {
  const outputs: Record<string, string> = { ...g.outputs };
  let i = 0;
  for (const n of g.nodes) {
    if (g.consumers(n.name).length > 0 || g.isOutput(n.name)) continue;
    if (i++ % 4 === 0) continue; // keep some dead code for dce
    outputs[`sink${i}`] = n.name;
  }
  return g.with({ outputs });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const pm = new PassManager();
const graphs = SIZES.map((size) => graphOfSize(size, 7 + size));
// Warm up the JIT on every size.
for (const g of graphs) for (let i = 0; i < 2; i++) pm.run(g, { level: 'O2' });

// Round-robin over the sizes, so load from other processes on the machine hits every size alike;
// CPU time of this process (process.cpuUsage) is reported next to wall time for the same reason.
const wall = graphs.map(() => [] as number[]);
const cpu = graphs.map(() => [] as number[]);
const lastRun = graphs.map(() => undefined as ReturnType<PassManager['run']> | undefined);
for (let r = 0; r < RUNS; r++) {
  graphs.forEach((g, i) => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    lastRun[i] = pm.run(g, { level: 'O2' });
    wall[i].push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu[i].push((c.user + c.system) / 1000);
  });
}

const rows = graphs.map((g, i) => {
  const run = lastRun[i]!;
  return {
    nodes: g.nodes.length,
    after: run.graph.nodes.length,
    rewritten: run.reports.reduce((s, p) => s + p.rewritten, 0),
    ms: median(wall[i]),
    cpuMs: median(cpu[i]),
  };
});

const head = ['nodes', 'after O2', 'rewrites', 'median wall ms', 'median CPU ms', 'CPU us / node', 'x CPU vs previous', 'x nodes vs previous'];
const body = rows.map((r, i) => [
  String(r.nodes),
  String(r.after),
  String(r.rewritten),
  r.ms.toFixed(1),
  r.cpuMs.toFixed(1),
  ((r.cpuMs * 1000) / r.nodes).toFixed(1),
  i === 0 ? '' : (r.cpuMs / rows[i - 1].cpuMs).toFixed(2),
  i === 0 ? '' : (r.nodes / rows[i - 1].nodes).toFixed(2),
]);
const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c].length)));
const line = (cells: string[]) => cells.map((x, c) => x.padStart(widths[c])).join('  ');
console.log(`O2 pipeline (${pm.pipeline({ level: 'O2' }).join(', ')}) on random graphs, median of ${RUNS} runs`);
console.log(line(head));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const b of body) console.log(line(b));
const two = rows.find((r) => r.nodes >= 2000 && r.nodes < 4000)!;
const perNode = (r: (typeof rows)[number]) => r.cpuMs / r.nodes;
const ratio = perNode(rows[rows.length - 1]) / perNode(rows[0]);
console.log(
  `\n2,000-node graph: ${two.ms.toFixed(0)} ms wall, ${two.cpuMs.toFixed(0)} ms CPU (${Math.max(two.ms, two.cpuMs) < 1000 ? 'under' : 'OVER'} one second); ` +
    `CPU time per node at ${rows[rows.length - 1].nodes} vs ${rows[0].nodes} nodes: x${ratio.toFixed(2)} (${ratio < 1.5 ? 'linear' : 'NOT linear'})`,
);
