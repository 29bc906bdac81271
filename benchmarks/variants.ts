import type { Graph } from '@tessera/core';
import { optimize } from '@tessera/passes';

/**
 * The workload graph after the O1 and O2 pipelines, timed next to the unoptimized one (O0), for
 * every level that changed the graph.
 */
export function extraVariants(graph: Graph): { name: string; graph: Graph }[] {
  const variants: { name: string; graph: Graph }[] = [];
  let previous = graph.toString();
  for (const level of ['O1', 'O2']) {
    const optimized = optimize(graph, { level }).graph;
    const text = optimized.toString();
    if (text !== previous) variants.push({ name: `tessera-cpu ${level}`, graph: optimized });
    previous = text;
  }
  return variants;
}
