import { z } from 'zod';
import { OpError } from '../errors.js';
import { numel, shapeStr, type Shape } from '../shape.js';
import { refTensor } from './numerics.js';
import { rowMajorStrides } from './slice.js';
import { defineOp, type RefTensor } from './spec.js';

/**
 * tf.transpose: output axis a is input axis perm[a], so out.shape[a] = x.shape[perm[a]].
 * `perm` absent means the axes reversed (TF's default), resolved against the input's rank by
 * `transposePerm`. Values, bounds and zero signs move unchanged: the op is exact.
 */
export const transposeAttrs = z.object({ perm: z.array(z.number().int().min(0).max(7)).max(8).optional() }).strict();
export type TransposeAttrs = z.output<typeof transposeAttrs>;

/**
 * The permutation a transpose of a rank-`rank` input applies: `perm` itself (checked: one entry
 * per axis, each axis once) or, absent, the axes reversed. Throws an OpError naming what was expected.
 */
export function transposePerm(perm: readonly number[] | undefined, rank: number): number[] {
  if (perm === undefined) return Array.from({ length: rank }, (_, i) => rank - 1 - i);
  if (perm.length !== rank) {
    throw new OpError(`perm ${shapeStr(perm)} has ${perm.length} entries for an input of rank ${rank}: one per axis`);
  }
  const seen = new Array<boolean>(rank).fill(false);
  for (const p of perm) {
    if (p >= rank || seen[p]) {
      throw new OpError(`perm ${shapeStr(perm)} is not a permutation of 0..${rank - 1}: each axis must appear exactly once`);
    }
    seen[p] = true;
  }
  return [...perm];
}

/** The output shape of transposing `shape` by the (checked) permutation `perm`. */
export function transposedShape(shape: Shape, perm: readonly number[]): number[] {
  return perm.map((p) => shape[p]);
}

/**
 * For each output axis, the stride (in elements) of the input axis it reads: output element at
 * index i reads input element sum(i[a] * strides[a]).
 */
export function transposeStrides(inShape: Shape, perm: readonly number[]): number[] {
  const s = rowMajorStrides(inShape);
  return perm.map((p) => s[p]);
}

/** Row-major data of `shape` transposed by `perm` (any array type; a helper for references and passes). */
export function transposeData<T extends { length: number; [i: number]: number }>(data: ArrayLike<number>, shape: Shape, perm: readonly number[], out: T): T {
  const outShape = transposedShape(shape, perm);
  const strides = transposeStrides(shape, perm);
  const index = new Array<number>(outShape.length).fill(0);
  let src = 0;
  for (let o = 0, n = numel(shape); o < n; o++) {
    out[o] = data[src];
    // Next output index, row-major; the source offset follows with the carries.
    for (let a = outShape.length - 1; a >= 0; a--) {
      src += strides[a];
      if (++index[a] < outShape[a]) break;
      src -= strides[a] * outShape[a];
      index[a] = 0;
    }
  }
  return out;
}

/**
 * The smallest equivalent of a transpose, for kernels: axes of size 1 dropped and output axes
 * that read adjacent input axes in order merged. `shape` is the output's reduced shape and
 * `strides[a]` the input stride of its axis a (row-major output). Rank 0 after reduction (a
 * single element) or rank 1 (`strides` [1]) means the transpose moves no data: a copy, or a view.
 */
export interface TransposeGeometry {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}

export function transposeGeometry(inShape: Shape, perm: readonly number[]): TransposeGeometry {
  const inStrides = rowMajorStrides(inShape);
  const shape: number[] = [];
  const strides: number[] = [];
  for (const p of perm) {
    const d = inShape[p];
    if (d === 1) continue;
    const last = shape.length - 1;
    // The previous output axis reads the input axis just before this one: one axis.
    if (last >= 0 && strides[last] === inStrides[p] * d) {
      shape[last] *= d;
      strides[last] = inStrides[p];
    } else {
      shape.push(d);
      strides.push(inStrides[p]);
    }
  }
  return { shape, strides };
}

/** True when transposing `inShape` by `perm` moves no element (only axes of size 1 move): a reshape. */
export function transposeIsReshape(inShape: Shape, perm: readonly number[]): boolean {
  return transposeGeometry(inShape, perm).shape.length <= 1;
}

export const transpose = defineOp({
  name: 'transpose',
  inputs: ['x'],
  attrs: transposeAttrs,
  inferShape([x], { perm }) {
    return transposedShape(x, transposePerm(perm, x.length));
  },
  cost: () => ({ macs: 0 }),
  reference([x], { perm }, output): RefTensor {
    const p = transposePerm(perm, x.shape.length);
    const n = numel(output);
    const move = (a: ArrayLike<number>) => transposeData(a, x.shape, p, new Float64Array(n));
    return {
      ...refTensor(output, move(x.value), move(x.bound)),
      ...(x.likely ? { likely: move(x.likely) } : {}),
      ...(x.zeroSign ? { zeroSign: transposeData(x.zeroSign, x.shape, p, new Uint8Array(n)) } : {}),
    };
  },
});
