import { TesseraError } from './errors.js';
import type { Graph } from './graph.js';
import { numel, shapeStr } from './shape.js';

export type Feeds = Readonly<Record<string, Float32Array>>;

/** Checks feeds against the graph's inputs: none missing, none extra, Float32Array of the right length. */
export function validateFeeds(graph: Graph, feeds: Feeds): void {
  if (feeds === null || typeof feeds !== 'object') throw new TesseraError(`feeds must be an object of Float32Array by input name`);
  const expected = new Set(graph.inputs.map((v) => v.name));
  for (const name of Object.keys(feeds)) {
    if (!expected.has(name)) {
      throw new TesseraError(`feed '${name}' is not an input of graph '${graph.name}' (inputs: ${[...expected].join(', ')})`);
    }
  }
  for (const v of graph.inputs) {
    // Own properties only: an input named 'constructor' is missing from {}, not Object.
    const data = Object.hasOwn(feeds, v.name) ? feeds[v.name] : undefined;
    if (data === undefined) throw new TesseraError(`input '${v.name}' ${shapeStr(v.shape)} is missing from the feeds`);
    if (!(data instanceof Float32Array)) {
      throw new TesseraError(`input '${v.name}' must be a Float32Array, got ${Object.prototype.toString.call(data).slice(8, -1)}`);
    }
    if (data.length !== numel(v.shape)) {
      throw new TesseraError(`input '${v.name}' of shape ${shapeStr(v.shape)} needs ${numel(v.shape)} values, got ${data.length}`);
    }
  }
}
