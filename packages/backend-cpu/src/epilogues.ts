import type { Activation, Graph } from '@tessera/core';
import type { Ref, Step } from './program.js';

/**
 * Epilogues taken at compile: a conv step (conv2d, Winograd, depthwise) or a matmul in any of its
 * forms whose output only a bias_add reads, with a bias that is a constant or an input, runs that bias_add in
 * its epilogue, and then a relu or relu6 that only reads the bias_add's output; the steps taken
 * run nothing. Only where the plan runs them in place (their output is the host step's), so the
 * memory is the same, and the host's epilogue does what those kernels do (+ bias rounded to
 * float32, then the activation): the same bits, without two passes over the output. What the
 * fusion pass does to the graph at O1, done by the backend for graphs that did not run it.
 */

/** Steps whose kernels run a bias and activation epilogue after their whole sum. */
const HOST_KERNELS = new Set(['conv2d', 'conv2d_winograd', 'depthwise_conv2d', 'matmul', 'matmul_columns', 'matmul_strassen']);

/** The fields of a host step an epilogue sets. */
interface EpilogueStep extends Step {
  readonly bias: Ref | null;
  readonly activation: Activation;
  readonly residual?: Ref | null;
  readonly y: Ref;
}

const sameRef = (a: Ref, b: Ref): boolean => a.mem === b.mem && a.off === b.off;

/** `nodeSteps` (by node index) with the bias_add / activation steps that host steps take in their epilogue set to null. */
export function takeEpilogues(graph: Graph, nodeSteps: readonly (Step | null)[]): (Step | null)[] {
  const out = [...nodeSteps];
  const index = new Map(graph.nodes.map((n, i) => [n.name, i]));
  // The one step reading `value` in place (its output at the same memory), if `op` is its op.
  const soleInPlaceReader = (value: string, at: Ref, ops: readonly string[]): number | null => {
    const readers = graph.consumers(value);
    if (readers.length !== 1 || !ops.includes(readers[0].op) || readers[0].inputs[0] !== value || graph.isOutput(value)) return null;
    const i = index.get(readers[0].name)!;
    const step = out[i] as (Step & { readonly y?: Ref }) | null;
    return step?.y && sameRef(step.y, at) ? i : null;
  };
  graph.nodes.forEach((node, i) => {
    const step = out[i] as EpilogueStep | null;
    if (!step || !HOST_KERNELS.has(step.kernel) || step.bias !== null || step.activation !== 'none' || step.residual) return;
    const b = soleInPlaceReader(node.name, step.y, ['bias_add']);
    const bias = b === null ? undefined : graph.nodes[b].inputs[1];
    if (b === null || bias === undefined || graph.kind(bias) === 'node') return;
    const a = soleInPlaceReader(graph.nodes[b].name, step.y, ['relu', 'relu6']);
    const activation = a === null ? 'none' : (graph.nodes[a].op as Activation);
    out[i] = { ...step, bias: (out[b] as EpilogueStep).bias, activation, takes: a === null ? [b] : [b, a] } as EpilogueStep;
    out[b] = null;
    if (a !== null) out[a] = null;
  });
  return out;
}
