import { compareToReference, type RefTensor } from '@tessera/core';

/**
 * A backend's output against the float64 reference by core's comparator: ok when every element
 * is within its bound; `worst` is the largest error as a fraction of its bound (0 for an exact
 * match, also with a zero bound; Infinity for a non-finite mismatch).
 */
export function agreement(actual: Float32Array, ref: RefTensor): { ok: boolean; worst: number } {
  const c = compareToReference(actual, ref);
  return { ok: c.ok, worst: c.worstRatio };
}
