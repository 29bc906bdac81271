import { numel } from '@tessera/core';
import { view, type CpuKernel, type Ref, type Step } from '../program.js';

export interface SoftmaxStep extends Step {
  readonly x: Ref;
  readonly y: Ref;
  /** Row length: the last dimension. */
  readonly k: number;
}

/**
 * Softmax over the last axis, stably: exp(x - max) / sum; the units are rows. exp and the sum are
 * computed in float64 (JS numbers), each exp rounded once to float32 where it is stored in y and
 * the quotient rounded once: within the reference's bound, and the same bits however the rows are
 * split. IEEE arithmetic gives the non-finite rules (NaN or +Inf in a row: a NaN row).
 */
export const softmaxKernel: CpuKernel<SoftmaxStep> = {
  op: 'softmax',
  prepare(node, ctx) {
    const shape = node.output.shape;
    const k = shape[shape.length - 1];
    return {
      kernel: 'softmax',
      node: node.name,
      units: numel(shape) / k,
      costPerUnit: 4 * k,
      x: ctx.operand(node.inputs[0]),
      y: ctx.output(node),
      k,
    };
  },
  run({ x: xr, y: yr, k }, mem, start, end) {
    const x = view(mem, xr);
    const y = view(mem, yr);
    for (let row = start; row < end; row++) {
      const xs = xr.off + row * k;
      const ys = yr.off + row * k;
      let m = -Infinity;
      for (let j = 0; j < k; j++) m = Math.max(m, x[xs + j]); // Math.max keeps a NaN
      let sum = 0;
      for (let j = 0; j < k; j++) sum += y[ys + j] = Math.exp(x[xs + j] - m);
      for (let j = 0; j < k; j++) y[ys + j] /= sum;
    }
  },
};
