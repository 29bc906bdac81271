import { attrsOf, batchNorm, numel } from '@tessera/core';
import { view, type CpuKernel, type Ref, type Step } from '../program.js';

export interface BatchNormStep extends Step {
  readonly x: Ref;
  readonly mean: Ref;
  readonly variance: Ref;
  readonly offset: Ref;
  readonly scale: Ref;
  readonly channels: number;
  readonly epsilon: number;
  readonly y: Ref;
}

/**
 * y = (x - mean) * a + offset with a = scale / sqrt(variance + epsilon) per channel, computed
 * once per range into scratch (the difference first, as the reference: the same NaN / Inf).
 * The units are elements, so the op chains element-wise, in place on x included.
 */
export const batchNormKernel: CpuKernel<BatchNormStep> = {
  op: 'batch_norm',
  prepare(node, ctx) {
    const shape = node.output.shape;
    const [x, mean, variance, offset, scale] = node.inputs.map((v) => ctx.operand(v));
    return {
      kernel: 'batch_norm',
      node: node.name,
      units: numel(shape),
      costPerUnit: 2,
      x,
      mean,
      variance,
      offset,
      scale,
      channels: shape[shape.length - 1],
      epsilon: attrsOf(node, batchNorm).epsilon,
      y: ctx.output(node),
    };
  },
  scratchSize: (s) => s.channels,
  run(s, mem, start, end, a) {
    if (start >= end) return;
    const C = s.channels;
    const x = view(mem, s.x);
    const y = view(mem, s.y);
    const m = view(mem, s.mean);
    const o = view(mem, s.offset);
    const v = view(mem, s.variance);
    const sc = view(mem, s.scale);
    const { mean: mr, offset: or } = s;
    for (let c = 0; c < C; c++) a[c] = sc[s.scale.off + c] / Math.sqrt(v[s.variance.off + c] + s.epsilon);
    let c = start % C;
    for (let i = start; i < end; i++) {
      y[s.y.off + i] = (x[s.x.off + i] - m[mr.off + c]) * a[c] + o[or.off + c];
      if (++c === C) c = 0;
    }
  },
};
