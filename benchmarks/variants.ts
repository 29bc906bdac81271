import type { Graph } from '@tessera/core';

/** Further Tessera variants of a workload graph to time next to the plain one (optimization levels). */
export function extraVariants(graph: Graph): { name: string; graph: Graph }[] {
  void graph;
  return [];
}
