import { attrsOf, mean, offsetOf, reduction, type Reduction } from '@tessera/core';
import { view, type CpuKernel, type Ref, type Step } from '../program.js';

export interface MeanStep extends Step {
  readonly r: Reduction;
  readonly x: Ref;
  readonly y: Ref;
}

/**
 * tf.reduce_mean; the units are output elements. Each output's sum is accumulated in float64 (a
 * JS number) and rounded once by the division: more accurate than float32 summation, so within
 * the reference's bound, and the same bits however the units are split.
 */
export const meanKernel: CpuKernel<MeanStep> = {
  op: 'mean',
  prepare(node, ctx) {
    const r = reduction(ctx.graph.value(node.inputs[0]).shape, attrsOf(node, mean));
    return {
      kernel: 'mean',
      node: node.name,
      units: r.keptSizes.reduce((p, d) => p * d, 1),
      costPerUnit: r.count,
      r,
      x: ctx.operand(node.inputs[0]),
      y: ctx.output(node),
    };
  },
  run({ r, x: xr, y: yr }, mem, start, end) {
    const x = view(mem, xr);
    const y = view(mem, yr);
    // One reduced axis (after collapsing, the common case: [1, 2] of NHWC) needs no index arithmetic.
    const single = r.reducedSizes.length === 1 ? r.reducedStrides[0] : 0;
    for (let o = start; o < end; o++) {
      const base = xr.off + offsetOf(o, r.keptSizes, r.keptStrides);
      let sum = 0;
      if (single) for (let k = 0, i = base; k < r.count; k++, i += single) sum += x[i];
      else for (let k = 0; k < r.count; k++) sum += x[base + offsetOf(k, r.reducedSizes, r.reducedStrides)];
      y[yr.off + o] = sum / r.count;
    }
  },
};
