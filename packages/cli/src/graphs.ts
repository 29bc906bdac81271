import type { Graph } from '@tessera/core';
import { loadGraph } from '@tessera/core/node';
import { EXAMPLES } from '@tessera/examples';

/** A graph named on the command line: an example name (seed-cnn, bottleneck, w2, ...) or a graph .json file. */
export async function resolveGraph(nameOrPath: string): Promise<Graph> {
  const example = EXAMPLES[nameOrPath.toLowerCase()];
  if (example) return example();
  if (!nameOrPath.endsWith('.json')) {
    throw new Error(`'${nameOrPath}' is neither an example (${Object.keys(EXAMPLES).join(', ')}) nor a .json graph file`);
  }
  return loadGraph(nameOrPath);
}

export function exampleNames(): string {
  return Object.keys(EXAMPLES).join(', ');
}
