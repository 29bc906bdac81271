import { z } from 'zod';
import { OpError } from '../errors.js';
import { checkShape, numel, shapeStr, type Shape } from '../shape.js';
import { refTensor } from './numerics.js';
import { defineOp } from './spec.js';

/**
 * tf.concat: one or more operands (variadic `values`) of the same rank, equal on every dimension
 * but `axis`, joined along `axis` (negative counts from the end: -1 is the last). Values, bounds
 * and zero signs are copied.
 */
export const concatAttrs = z.object({ axis: z.number().int().min(-8).max(7) }).strict();
export type ConcatAttrs = z.output<typeof concatAttrs>;

/** `axis` as an index in [0, rank); throws an OpError when it is outside [-rank, rank). */
export function concatAxis(axis: number, rank: number): number {
  if (axis < -rank || axis >= rank) throw new OpError(`axis ${axis} is out of range for values of rank ${rank} (${-rank} to ${rank - 1})`);
  return axis < 0 ? axis + rank : axis;
}

/**
 * The geometry every kernel shares: the output as [outer, sum of the operands' `inner`], each
 * operand a block of `outer` runs of its `inner` contiguous floats. Operand k's run r lands at
 * output offset r * total + offsets[k].
 */
export interface ConcatGeometry {
  /** Product of the dimensions before the axis. */
  readonly outer: number;
  /** Per operand: its axis dimension times the product of the dimensions after the axis. */
  readonly inner: readonly number[];
  /** Per operand: where its runs start within an output run. */
  readonly offsets: readonly number[];
  /** Floats of one output run (the sum of `inner`). */
  readonly total: number;
}

export function concatGeometry(shapes: readonly Shape[], axis: number): ConcatGeometry {
  const rank = shapes[0].length;
  const a = concatAxis(axis, rank);
  const outer = numel(shapes[0].slice(0, a));
  const after = numel(shapes[0].slice(a + 1));
  const inner = shapes.map((s) => s[a] * after);
  const offsets: number[] = [];
  let total = 0;
  for (const w of inner) {
    offsets.push(total);
    total += w;
  }
  return { outer, inner, offsets, total };
}

export const concat = defineOp({
  name: 'concat',
  inputs: ['values'],
  variadic: true,
  attrs: concatAttrs,
  inferShape(values, { axis }) {
    const first = values[0];
    if (first.length === 0) throw new OpError(`values[0] is a scalar ([]): concat needs values of rank 1 or more`);
    const a = concatAxis(axis, first.length);
    values.forEach((s, k) => {
      if (s.length !== first.length) {
        throw new OpError(`values[${k}] ${shapeStr(s)} has rank ${s.length}, values[0] ${shapeStr(first)} rank ${first.length}: all must have the same rank`);
      }
      s.forEach((d, i) => {
        if (i !== a && d !== first[i]) {
          throw new OpError(`values[${k}] ${shapeStr(s)} differs from values[0] ${shapeStr(first)} on dimension ${i} (${d} against ${first[i]}); only the concat axis ${a} may differ`);
        }
      });
    });
    const out = first.map((d, i) => (i === a ? values.reduce((sum, s) => sum + s[a], 0) : d));
    checkShape(out, 'output');
    return out;
  },
  cost: () => ({ macs: 0 }),
  reference(values, { axis }, output) {
    const g = concatGeometry(values.map((v) => v.shape), axis);
    const signed = values.some((v) => v.zeroSign);
    const out = { ...refTensor(output), ...(signed ? { zeroSign: new Uint8Array(numel(output)) } : {}) };
    values.forEach((v, k) => {
      const w = g.inner[k];
      for (let r = 0; r < g.outer; r++) {
        const dst = r * g.total + g.offsets[k];
        out.value.set(v.value.subarray(r * w, (r + 1) * w), dst);
        out.bound.set(v.bound.subarray(r * w, (r + 1) * w), dst);
        if (out.zeroSign && v.zeroSign) out.zeroSign.set(v.zeroSign.subarray(r * w, (r + 1) * w), dst);
      }
    });
    return out;
  },
});
