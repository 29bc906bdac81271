import { attrsOf, batchNorm } from '@tessera/core';
import { elementwiseFor } from '../kernels/wasm/elementwise.js';
import { elementUnits, view, type CpuKernel, type Ref, type Step } from '../program.js';

export interface BatchNormStep extends Step {
  readonly channels: number;
  readonly epsilon: number;
  readonly x: Ref;
  readonly mean: Ref;
  readonly variance: Ref;
  readonly offset: Ref;
  readonly scale: Ref;
  readonly y: Ref;
}

/**
 * y = (x - mean) * a + offset with a = scale / sqrt(variance + epsilon) per channel, computed
 * once per range into scratch (the difference first, as the reference: the same NaN / Inf), each
 * operation in float32 (wasm SIMD where the memory has it).
 * The units are elements, so the op chains element-wise, in place on x included.
 */
export const batchNormKernel: CpuKernel<BatchNormStep> = {
  op: 'batch_norm',
  prepare(node, ctx) {
    const [x, mean, variance, offset, scale] = node.inputs.map((v) => ctx.operand(v));
    return {
      ...elementUnits(node, 2),
      channels: node.output.shape[node.output.shape.length - 1],
      epsilon: attrsOf(node, batchNorm).epsilon,
      x,
      mean,
      variance,
      offset,
      scale,
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
    for (let c = 0; c < C; c++) a[c] = sc[s.scale.off + c] / Math.sqrt(v[s.variance.off + c] + s.epsilon);
    elementwiseFor(mem, x, y, a).batchNorm(x, s.x.off, y, s.y.off, a, m, s.mean.off, o, s.offset.off, C, start, end);
  },
};
