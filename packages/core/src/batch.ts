import { OpError, TesseraError, atNode } from './errors.js';
import type { Feeds } from './feeds.js';
import { Graph, type Node, type ValueInfo } from './graph.js';
import { opSpec } from './ops/index.js';
import { numel, shapeStr, type Shape } from './shape.js';

/*
 * Dynamic batch. An input may leave its first dimension open (`g.input('x', [null, 224, 224, 3])`,
 * an ONNX input with a symbolic first dimension). Such a graph is stored at batch 1 (its shapes,
 * costs and parameter counts are per item) with the input marked `openBatch`; `atBatch(graph, n)`
 * is the same graph with every open input at batch n and every shape inferred again. The graph
 * constructor checks that batch 2 infers too, so a node that fixes the batch (a reshape to
 * [1, 12544]) is an error at build time, naming it. Sessions and the reference pick the batch from
 * the feeds.
 */

/** The batch an open graph is stored at (its shapes are per item). */
export const STORED_BATCH = 1;

/** A shape for messages, with an open batch shown as `?`. */
export function valueShapeStr(v: ValueInfo): string {
  return v.openBatch ? `[?${v.shape.slice(1).map((d) => `,${d}`).join('')}]` : shapeStr(v.shape);
}

/** The graph with every open input at batch `n` (a static graph), shapes inferred again. */
export function atBatch(graph: Graph, n: number): Graph {
  if (!graph.openBatch) return graph;
  if (!Number.isSafeInteger(n) || n < 1) throw new TesseraError(`batch must be a positive integer, got ${n}`);
  const inputs = graph.inputs.map((v) => (v.openBatch ? { name: v.name, shape: Object.freeze([n, ...v.shape.slice(1)]), dtype: v.dtype } : v));
  const shapes = new Map<string, Shape>(inputs.map((v) => [v.name, v.shape]));
  for (const [name, t] of graph.constants) shapes.set(name, t.shape);
  const nodes = graph.nodes.map((node): Node => {
    const shape = atNode(node.name, node.op, () => {
      try {
        return opSpec(node.op).inferShape(node.inputs.map((i) => shapes.get(i)!), node.attrs);
      } catch (e) {
        if (e instanceof OpError) throw new OpError(`at batch ${n} (the graph's batch is open): ${e.message}`);
        throw e;
      }
    });
    shapes.set(node.name, shape);
    return { ...node, output: { ...node.output, shape } };
  });
  return new Graph({ name: graph.name, inputs, constants: graph.constants, nodes, outputs: graph.outputs });
}

/**
 * The batch the feeds give an open graph: every open input's length over its per-item size, the
 * same for all of them. Errors name the input and what was expected.
 */
export function batchOfFeeds(graph: Graph, feeds: Feeds): number {
  let batch: number | undefined;
  let first = '';
  for (const v of graph.inputs) {
    if (!v.openBatch) continue;
    const data = feeds !== null && typeof feeds === 'object' && Object.hasOwn(feeds, v.name) ? feeds[v.name] : undefined;
    // A missing or mistyped feed is left for validateFeeds to report at the batch found.
    if (!(data instanceof Float32Array)) continue;
    const item = numel(v.shape.slice(1));
    const n = data.length / item;
    if (!Number.isInteger(n) || n < 1) {
      throw new TesseraError(`input '${v.name}' of shape ${valueShapeStr(v)} needs a positive multiple of ${item} values, got ${data.length}`);
    }
    if (batch !== undefined && n !== batch) {
      throw new TesseraError(`inputs '${first}' and '${v.name}' disagree on the batch: ${batch} and ${n}`);
    }
    batch ??= n;
    first ||= v.name;
  }
  return batch ?? STORED_BATCH;
}

/** The graph at the batch its feeds give (the graph itself when nothing is open). */
export function graphForFeeds(graph: Graph, feeds: Feeds): Graph {
  return graph.openBatch ? atBatch(graph, batchOfFeeds(graph, feeds)) : graph;
}
