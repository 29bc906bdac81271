import { z } from 'zod';
import { OpError } from '../errors.js';
import { shapeStr, type Shape } from '../shape.js';
import { DotAccumulator, meanBound, meanLikely, refTensorWithLikely } from './numerics.js';
import { rowMajorStrides } from './slice.js';
import { defineOp, type RefTensor } from './spec.js';

/**
 * tf.reduce_mean over `axes` (negative counts from the end; each axis once) with `keepdims`.
 * Global average pooling is the mean over [1, 2] of an NHWC tensor.
 *
 * Bound: as avg_pool's, the float32 sum of the `count` reduced elements bounded as a sum of
 * products with an exact 1, divided by `count`, plus one division's rounding. Sums leave the sign
 * of a zero unspecified.
 */
export const meanAttrs = z
  .object({
    axes: z.array(z.number().int().min(-8).max(7)).max(8),
    keepdims: z.boolean().default(false),
  })
  .strict();
export type MeanAttrs = z.output<typeof meanAttrs>;

/**
 * A reduction resolved once (also used by backends, as plain data): the kept axes index the
 * output elements (row-major), the reduced axes the `count` elements each output sums, with the
 * input strides of both.
 */
export interface Reduction {
  readonly keptSizes: readonly number[];
  readonly keptStrides: readonly number[];
  readonly reducedSizes: readonly number[];
  readonly reducedStrides: readonly number[];
  /** Elements per output: the product of the reduced sizes. */
  readonly count: number;
  readonly outShape: Shape;
}

export function reduction(input: Shape, attrs: MeanAttrs): Reduction {
  const rank = input.length;
  if (rank < 1) throw new OpError(`input must have rank >= 1, got ${shapeStr(input)}`);
  const axes = attrs.axes.map((a) => {
    if (a < -rank || a >= rank) throw new OpError(`axis ${a} is out of range for input ${shapeStr(input)}: expected ${-rank} .. ${rank - 1}`);
    return a < 0 ? a + rank : a;
  });
  const dup = axes.find((a, i) => axes.indexOf(a) !== i);
  if (dup !== undefined) throw new OpError(`axes ${shapeStr(attrs.axes)} name axis ${dup} more than once (input ${shapeStr(input)})`);
  const reduced = (i: number) => axes.includes(i);
  const outShape = input.flatMap((d, i) => (!reduced(i) ? [d] : attrs.keepdims ? [1] : []));
  if (outShape.length === 0) {
    throw new OpError(`the mean over every axis of ${shapeStr(input)} without keepdims would be rank 0, which Tessera has not: set keepdims`);
  }
  // Runs of adjacent axes of one kind collapse into one axis (their strides chain): the mean
  // over [1, 2] of NHWC reduces one axis of H * W elements, stride C.
  const strides = rowMajorStrides(input);
  const sizes: [number[], number[]] = [[], []];
  const steps: [number[], number[]] = [[], []];
  input.forEach((d, i) => {
    const kind = reduced(i) ? 1 : 0;
    if (i > 0 && reduced(i - 1) === (kind === 1) && sizes[kind].length > 0) {
      sizes[kind][sizes[kind].length - 1] *= d;
      steps[kind][steps[kind].length - 1] = strides[i];
    } else {
      sizes[kind].push(d);
      steps[kind].push(strides[i]);
    }
  });
  return {
    keptSizes: sizes[0],
    keptStrides: steps[0],
    reducedSizes: sizes[1],
    reducedStrides: steps[1],
    count: sizes[1].reduce((p, d) => p * d, 1),
    outShape,
  };
}

/** The input offset of element `i` of a row-major index space with these sizes and (input) strides. */
export function offsetOf(i: number, sizes: readonly number[], strides: readonly number[]): number {
  let off = 0;
  for (let a = sizes.length - 1; a >= 0; a--) {
    const j = i % sizes[a];
    i = (i - j) / sizes[a];
    off += j * strides[a];
  }
  return off;
}

export const mean = defineOp({
  name: 'mean',
  inputs: ['x'],
  attrs: meanAttrs,
  inferShape: ([x], attrs) => reduction(x, attrs).outShape,
  // Additions count 0 MACs, like bias_add's.
  cost: () => ({ macs: 0 }),
  reference([x], attrs): RefTensor {
    const r = reduction(x.shape, attrs);
    const out = refTensorWithLikely(r.outShape);
    const acc = new DotAccumulator();
    for (let o = 0; o < out.value.length; o++) {
      const base = offsetOf(o, r.keptSizes, r.keptStrides);
      acc.reset();
      for (let k = 0; k < r.count; k++) {
        const i = base + offsetOf(k, r.reducedSizes, r.reducedStrides);
        acc.add(x.value[i], x.bound[i], 1, 0);
      }
      out.value[o] = acc.value / r.count;
      out.bound[o] = meanBound(acc, r.count, out.value[o]);
      out.likely[o] = meanLikely(acc, r.count, out.value[o]);
    }
    return out;
  },
});
