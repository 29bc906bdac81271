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
  /** a per channel, computed at compile where scale and variance are constants; else null (each range computes it). */
  readonly a: Ref | null;
  readonly y: Ref;
}

/** a[c] = scale[c] / sqrt(variance[c] + epsilon), rounded to float32 where it is stored. */
function fillA(a: Float32Array, aOff: number, scale: Float32Array, scaleOff: number, variance: Float32Array, varianceOff: number, C: number, epsilon: number): void {
  for (let c = 0; c < C; c++) a[aOff + c] = scale[scaleOff + c] / Math.sqrt(variance[varianceOff + c] + epsilon);
}

/**
 * y = (x - mean) * a + offset with a = scale / sqrt(variance + epsilon) per channel (in the
 * weights when its statistics are constants, else computed once per range into scratch), the
 * difference first, as the reference (the same NaN / Inf), each operation in float32 (wasm SIMD
 * where the memory has it). The units are elements, so the op chains element-wise, in place on x included.
 */
export const batchNormKernel: CpuKernel<BatchNormStep> = {
  op: 'batch_norm',
  prepare(node, ctx) {
    const [x, mean, variance, offset, scale] = node.inputs.map((v) => ctx.operand(v));
    const channels = node.output.shape[node.output.shape.length - 1];
    const { epsilon } = attrsOf(node, batchNorm);
    const constScale = ctx.graph.constants.get(node.inputs[4]);
    const constVariance = ctx.graph.constants.get(node.inputs[2]);
    const a = constScale && constVariance
      ? ctx.reserveWeights(channels, (dst, off) => fillA(dst, off, constScale.data, 0, constVariance.data, 0, channels, epsilon))
      : null;
    return { ...elementUnits(node, 2), channels, epsilon, x, mean, variance, offset, scale, a, y: ctx.output(node) };
  },
  scratchSize: (s) => (s.a ? 0 : s.channels),
  run(s, mem, start, end, scratch) {
    if (start >= end) return;
    const C = s.channels;
    const x = view(mem, s.x);
    const y = view(mem, s.y);
    const a = s.a ? view(mem, s.a) : scratch;
    const aOff = s.a ? s.a.off : 0;
    if (!s.a) fillA(scratch, 0, view(mem, s.scale), s.scale.off, view(mem, s.variance), s.variance.off, C, s.epsilon);
    elementwiseFor(mem, x, y, a).batchNorm(x, s.x.off, y, s.y.off, a, aOff, view(mem, s.mean), s.mean.off, view(mem, s.offset), s.offset.off, C, start, end);
  },
};
