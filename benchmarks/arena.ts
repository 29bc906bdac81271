/**
 * The arena a workload needs on the cpu backend, with buffer reuse (the session's plan: lifetimes,
 * greedy reuse, views, element-wise ops in place), without reuse (the plan's buffers side by side:
 * `stats.noReuseBytes`), and with every input and node output in memory of its own (no reuse, no
 * in-place, views apart too), at each optimization level. Nothing is timed; the graphs are
 * compiled, not run.
 *
 *   npx tsx --conditions=@tessera/source benchmarks/arena.ts [--workloads W6,W7] [--levels O0,O1]
 */
import '@tessera/backend-cpu';
import { numel, type Graph } from '@tessera/core';
import { workload, workloadGraph } from '@tessera/examples';
import { optimize } from '@tessera/passes';
import { createSession } from '@tessera/runtime';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    workloads: { type: 'string', default: 'W6' },
    levels: { type: 'string', default: 'O0,O1' },
  },
});

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Bytes of every input and every node output, each apart. */
const everyValueApart = (g: Graph): number => 4 * [...g.inputs, ...g.nodes.map((n) => n.output)].reduce((s, v) => s + numel(v.shape), 0);

for (const id of args.workloads!.split(',')) {
  const graph = workloadGraph(workload(id));
  for (const level of args.levels!.split(',')) {
    const optimized = optimize(graph, { level }).graph;
    const session = await createSession(optimized, { backend: 'cpu' });
    const { peakBytes, noReuseBytes } = session.stats;
    const apart = everyValueApart(optimized);
    console.log(`${id} ${level}: arena ${mib(peakBytes)} (${peakBytes} bytes) with buffer reuse; without reuse ${mib(noReuseBytes)} (x${(noReuseBytes / peakBytes).toFixed(2)}); every value apart ${mib(apart)} (x${(apart / peakBytes).toFixed(2)})`);
    session.dispose();
  }
}
