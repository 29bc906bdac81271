import type { Graph } from '@tessera/core';
import { loadGraph } from '@tessera/core/node';
import { EXAMPLES } from '@tessera/examples';
import { importOnnx } from '@tessera/onnx';
import { readFile } from 'node:fs/promises';

/**
 * A graph named on the command line: an example name (seed-cnn, bottleneck, w2, ...), a graph
 * .json file, or an ONNX model (.onnx, imported with its NCHW interface: docs/FORMAT.md).
 */
export async function resolveGraph(nameOrPath: string): Promise<Graph> {
  const example = EXAMPLES[nameOrPath.toLowerCase()];
  if (example) return example();
  if (nameOrPath.endsWith('.onnx')) return importOnnx(new Uint8Array(await readFile(nameOrPath)));
  if (!nameOrPath.endsWith('.json')) {
    throw new Error(`'${nameOrPath}' is neither an example (${Object.keys(EXAMPLES).join(', ')}) nor a .json graph file nor an .onnx model`);
  }
  return loadGraph(nameOrPath);
}

export function exampleNames(): string {
  return Object.keys(EXAMPLES).join(', ');
}
