/*
 * ONNX images are NCHW, Tessera's NHWC. A 4-D value is held in either order; these permutations
 * (in tf.transpose's sense: output axis i is input axis perm[i]) go between them.
 */

/** NCHW -> NHWC. */
export const TO_NHWC: readonly number[] = [0, 2, 3, 1];
/** NHWC -> NCHW. */
export const TO_NCHW: readonly number[] = [0, 3, 1, 2];

/** `shape` permuted: output axis i is axis perm[i]. */
export function permute<T>(items: readonly T[], perm: readonly number[]): T[] {
  return perm.map((p) => items[p]);
}

/** The inverse permutation. */
export function invert(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

/** Where axis `a` (in the NCHW order) lies in the NHWC order, and back. */
export const nhwcAxis = (a: number): number => invert(TO_NHWC)[a];
export const nchwAxis = (a: number): number => invert(TO_NCHW)[a];

export function isIdentity(perm: readonly number[]): boolean {
  return perm.every((p, i) => p === i);
}

/** Row-major data of `shape` transposed by `perm` (tf.transpose on plain arrays). */
export function transposeData<A extends Float32Array | Float64Array>(data: A, shape: readonly number[], perm: readonly number[]): A {
  const out = new (data.constructor as new (n: number) => A)(data.length);
  const rank = shape.length;
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i];
  }
  const outShape = permute(shape, perm);
  const strides = perm.map((p) => inStrides[p]);
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < data.length; o++) {
    let src = 0;
    for (let a = 0; a < rank; a++) src += index[a] * strides[a];
    out[o] = data[src];
    for (let a = rank - 1; a >= 0; a--) {
      if (++index[a] < outShape[a]) break;
      index[a] = 0;
    }
  }
  return out;
}

/** A per-axis list (`pads`, `axes` indexing) given in NCHW order, in NHWC order. */
export function toNhwcOrder<T>(perAxis: readonly T[]): T[] {
  return permute(perAxis, TO_NHWC);
}
