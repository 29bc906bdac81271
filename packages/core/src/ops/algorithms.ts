/**
 * The algorithms a backend may run a node with other than its op's direct one, and what each adds
 * to the node's bound: conformance and the CLI judge such nodes (`Executable.algorithms`) by the
 * direct bound widened by `algorithmWiden`.
 */
import type { Node } from '../graph.js';
import { conv2d, type Conv2dAttrs } from './conv2d.js';
import { fusedConv2d } from './fused_conv2d.js';
import { fusedMatmul } from './fused_matmul.js';
import { matmul, type MatmulAttrs } from './matmul.js';
import type { AlgorithmAllowance } from './numerics.js';
import { attrsOf, type RefTensor } from './spec.js';
import { strassenAllowance, strassenLevels } from './strassen-bound.js';
import { winogradAllowance, WINOGRAD_ALGORITHMS } from './winograd-bound.js';

/** What an algorithm adds to a node's output bound, from the node and its operands. */
type Allowance = (node: Node, inputs: readonly RefTensor[]) => AlgorithmAllowance;

/** The allowance of a node run with `algorithm`, or null for a name this table does not know. */
function allowanceOf(algorithm: string): Allowance | null {
  const transform = WINOGRAD_ALGORITHMS[algorithm];
  if (transform) {
    return (node, [x, f]) => {
      const attrs: Conv2dAttrs = node.op === 'fused_conv2d' ? attrsOf(node, fusedConv2d) : attrsOf(node, conv2d);
      return winogradAllowance(x, f, attrs, transform);
    };
  }
  const levels = strassenLevels(algorithm);
  if (levels > 0) {
    return (node, [a, b]) => {
      const attrs: MatmulAttrs = node.op === 'fused_matmul' ? attrsOf(node, fusedMatmul) : attrsOf(node, matmul);
      return strassenAllowance(a, b, attrs, levels);
    };
  }
  return null;
}

/**
 * The `evaluate` option `widen` for a backend that ran some nodes with another algorithm
 * (`algorithms`: node name -> algorithm, e.g. 'winograd-f4x4', 'strassen-2'): each such node's
 * bound (and likely bound) grows by its algorithm's allowance; every other node keeps the direct
 * bound. A name this table does not know is an error, not a silent direct bound.
 */
export function algorithmWiden(algorithms: ReadonlyMap<string, string> | undefined): ((node: Node, inputs: readonly RefTensor[], out: RefTensor) => void) | undefined {
  if (!algorithms || algorithms.size === 0) return undefined;
  const allowances = new Map<string, Allowance>();
  for (const [node, name] of algorithms) {
    const allowance = allowanceOf(name);
    if (!allowance) throw new Error(`node '${node}' ran algorithm '${name}', which has no stated error bound`);
    allowances.set(node, allowance);
  }
  return (node, inputs, out) => {
    const extra = allowances.get(node.name)?.(node, inputs);
    if (!extra) return;
    for (let i = 0; i < out.value.length; i++) {
      // A non-finite result is matched exactly (bound 0), whatever the algorithm.
      if (!Number.isFinite(out.value[i])) continue;
      out.bound[i] += extra.bound[i];
      if (out.likely) out.likely[i] += extra.likely[i];
    }
  };
}
