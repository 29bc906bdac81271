import { atNode } from './errors.js';
import { validateFeeds, type Feeds } from './feeds.js';
import type { Graph } from './graph.js';
import { exactRef, opSpec, type RefTensor } from './ops/index.js';

/**
 * The float64 reference interpreter: runs every node's reference on the exact float32 inputs
 * and constants, carrying each element's float32 error bound along (docs/SEMANTICS.md).
 * Returns every value by name; `evaluate` returns just the graph's outputs.
 */
export function evaluateAll(graph: Graph, feeds: Feeds): Map<string, RefTensor> {
  validateFeeds(graph, feeds);
  const values = new Map<string, RefTensor>();
  for (const v of graph.inputs) values.set(v.name, exactRef(v.shape, feeds[v.name]));
  for (const [name, t] of graph.constants) values.set(name, exactRef(t.shape, t.data));
  for (const node of graph.nodes) {
    const spec = opSpec(node.op);
    const inputs = node.inputs.map((i) => values.get(i)!);
    values.set(node.name, atNode(node.name, node.op, () => spec.reference(inputs, node.attrs, node.output.shape)));
  }
  return values;
}

export function evaluate(graph: Graph, feeds: Feeds): Record<string, RefTensor> {
  const all = evaluateAll(graph, feeds);
  return Object.fromEntries(Object.entries(graph.outputs).map(([out, value]) => [out, all.get(value)!]));
}
