import { atNode } from './errors.js';
import { validateFeeds, type Feeds } from './feeds.js';
import { graphForFeeds } from './batch.js';
import type { Graph, Node } from './graph.js';
import { TINY32, exactRef, opSpec, type RefTensor } from './ops/index.js';

export interface EvaluateOptions {
  /**
   * Called after each node's reference, before later nodes read it: may add to `out.bound` (a
   * rewrite's stated allowance, e.g. batch-norm folding's rounding of its new constants), which
   * later nodes then carry like any operand error.
   */
  readonly widen?: (node: Node, inputs: readonly RefTensor[], out: RefTensor) => void;
}

/**
 * The float64 reference interpreter: runs every node's reference on the exact float32 inputs
 * and constants, carrying each element's float32 error bound along (docs/SEMANTICS.md).
 * Returns every value by name; `evaluate` returns just the graph's outputs.
 */
export function evaluateAll(graph: Graph, feeds: Feeds, options: EvaluateOptions = {}): Map<string, RefTensor> {
  graph = graphForFeeds(graph, feeds);
  validateFeeds(graph, feeds);
  const values = new Map<string, RefTensor>();
  for (const v of graph.inputs) values.set(v.name, exactRef(v.shape, feeds[v.name]));
  for (const [name, t] of graph.constants) values.set(name, exactRef(t.shape, t.data));
  for (const node of graph.nodes) {
    const spec = opSpec(node.op);
    const inputs = node.inputs.map((i) => values.get(i)!);
    const out = atNode(node.name, node.op, () => spec.reference(inputs, node.attrs, node.output.shape));
    allowFlushToZero(out);
    options.widen?.(node, inputs, out);
    values.set(node.name, out);
  }
  return values;
}

/**
 * A device may flush a subnormal float32 to zero wherever it reads or writes one (GLSL ES 3.00
 * allows it; SwiftShader does): a subnormal result's bound is at least its own magnitude.
 */
function allowFlushToZero({ value, bound, likely }: RefTensor): void {
  for (let i = 0; i < value.length; i++) {
    const a = Math.abs(value[i]);
    if (a < TINY32 && a > bound[i]) bound[i] = a;
    if (likely && a < TINY32 && a > likely[i]) likely[i] = a;
  }
}

export function evaluate(graph: Graph, feeds: Feeds, options: EvaluateOptions = {}): Record<string, RefTensor> {
  const all = evaluateAll(graph, feeds, options);
  return Object.fromEntries(Object.entries(graph.outputs).map(([out, value]) => [out, all.get(value)!]));
}
