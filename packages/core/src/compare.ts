import type { RefTensor } from './ops/spec.js';

/*
 * The one element-by-element rule by which a result is checked against an expected value within a
 * bound: backends against the reference (conformance, `tessera run --check`) and a rewritten
 * graph's reference against the original's within the sum of both bounds (passes, transforms).
 */

/** Largest finite float32: (2 - 2^-23) * 2^127. */
export const FLOAT32_MAX = (2 - 2 ** -23) * 2 ** 127;

/**
 * Magnitude from which a real number rounds to ±Infinity in float32 (round to nearest even):
 * halfway between FLOAT32_MAX and 2^128.
 */
export const FLOAT32_OVERFLOW = (2 - 2 ** -24) * 2 ** 127;

export interface ElementFailure {
  readonly index: number;
  readonly actual: number;
  readonly expected: number;
  readonly bound: number;
  /** The element failed only on the sign of a zero that is specified there (actual and expected are ±0). */
  readonly signOfZero?: true;
}

export interface Comparison {
  /** True when every element is acceptable. */
  readonly ok: boolean;
  /**
   * max over elements of |actual - expected| / bound: 1 is an element exactly at its bound.
   * An exact match counts 0 (also for a zero bound and for matching NaN / ±Inf); any failing
   * element whose error cannot be expressed as a fraction of its bound (a zero bound, a
   * non-finite mismatch) counts Infinity. 0 for empty tensors.
   */
  readonly worstRatio: number;
  /** Element with the largest ratio; -1 for empty tensors. */
  readonly worstIndex: number;
  /** Number of elements that fail. */
  readonly failures: number;
  /** The lowest-index failing element; index -1 when the lengths differ (actual / expected hold the lengths). */
  readonly firstFailure?: ElementFailure;
  /** Against the reference's likely bound, where it states one (`compareToReference`). */
  readonly likely?: LikelyComparison;
}

/**
 * Errors against the likely (probabilistic) bound: a statistic, not the pass / fail rule (a
 * correct backend may exceed it, rarely; conformance warns, and fails only when strict).
 */
export interface LikelyComparison {
  /** max over finite elements of |actual - expected| / likely (0 for exact matches). */
  readonly worstRatio: number;
  /** Elements whose error exceeds their likely bound. */
  readonly beyond: number;
}

export interface ElementCheck {
  readonly ok: boolean;
  /** |a - r| / b; 0 for an exact match, Infinity for a failure not expressible as a fraction of b. */
  readonly ratio: number;
  /** Failed on the sign of zero alone. */
  readonly signOfZero?: true;
}

const PASS: ElementCheck = Object.freeze({ ok: true, ratio: 0 });
const FAIL: ElementCheck = Object.freeze({ ok: false, ratio: Infinity });
const WRONG_SIGN: ElementCheck = Object.freeze({ ok: false, ratio: Infinity, signOfZero: true });

/**
 * One element: `a` (actual) against `r` (expected) within bound `b`. Acceptable when
 * - `r` is NaN: `a` is NaN (any NaN);
 * - `r` is ±Infinity: `a` is the same infinity;
 * - `r` is finite: `a` is a float32 rounding of some real in `[r - b, r + b]`, that is
 *   - `a` is finite and `|a - r| <= b` (so a value exactly at the bound passes), or
 *   - `a` is +Infinity and `r + b >= FLOAT32_OVERFLOW` (the interval reaches the reals that
 *     round to +Infinity), or `a` is -Infinity and `r - b <= -FLOAT32_OVERFLOW`.
 *   So a reference beyond float32's range by more than its bound expects ±Infinity, and a NaN
 *   or infinite `a` for a finite in-range `r` fails. (Core gives non-finite values a bound of 0,
 *   so a finite value's bound is never NaN; if it were, `diff <= NaN` fails the element.)
 * +0 and -0 are equal, unless `signed` (the reference specifies the sign of its zero there,
 * docs/SEMANTICS.md "The sign of zero"): then a zero `a` for a zero `r` must have `r`'s sign. A
 * non-zero `a` for a zero `r` is judged by its distance alone.
 */
export function checkElement(a: number, r: number, b: number, signed = false): ElementCheck {
  if (Number.isNaN(r)) return Number.isNaN(a) ? PASS : FAIL;
  if (r === Infinity || r === -Infinity) return a === r ? PASS : FAIL;
  if (Number.isNaN(a)) return FAIL;
  if (a === Infinity) return r + b >= FLOAT32_OVERFLOW ? PASS : FAIL;
  if (a === -Infinity) return r - b <= -FLOAT32_OVERFLOW ? PASS : FAIL;
  const diff = Math.abs(a - r);
  if (diff === 0) return signed && a === 0 && Object.is(a, -0) !== Object.is(r, -0) ? WRONG_SIGN : PASS;
  const ratio = b > 0 ? diff / b : Infinity;
  return { ok: diff <= b, ratio: Number.isNaN(ratio) ? Infinity : ratio };
}

/**
 * Every element of `actual` against `expected` by `checkElement`, each within its own bound: the
 * sum, in order, of the given bound arrays at that index (there is no global epsilon). The sign of
 * a zero is checked where every array of `signs` is non-zero (none given: nowhere).
 */
export function compareWithin(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  bounds: readonly ArrayLike<number>[],
  signs: readonly ArrayLike<number>[] = [],
): Comparison {
  const n = expected.length;
  if (actual.length !== n) {
    const firstFailure = { index: -1, actual: actual.length, expected: n, bound: 0 };
    return { ok: false, worstRatio: Infinity, worstIndex: -1, failures: Math.max(n, actual.length), firstFailure };
  }
  let worstRatio = 0;
  let worstIndex = n > 0 ? 0 : -1;
  let failures = 0;
  let firstFailure: ElementFailure | undefined;
  for (let i = 0; i < n; i++) {
    let b = bounds[0][i];
    for (let k = 1; k < bounds.length; k++) b += bounds[k][i];
    let signed = signs.length > 0;
    for (let k = 0; signed && k < signs.length; k++) signed = signs[k][i] !== 0;
    const { ok, ratio, signOfZero } = checkElement(actual[i], expected[i], b, signed);
    if (!ok) {
      failures++;
      firstFailure ??= { index: i, actual: actual[i], expected: expected[i], bound: b, ...(signOfZero ? { signOfZero } : {}) };
    }
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worstIndex = i;
    }
  }
  return firstFailure ? { ok: false, worstRatio, worstIndex, failures, firstFailure } : { ok: true, worstRatio, worstIndex, failures };
}

/**
 * A backend's float32 output against the float64 reference, each element within its bound, and
 * with the sign of each zero the reference specifies.
 */
export function compareToReference(actual: ArrayLike<number>, ref: RefTensor): Comparison {
  const cmp = compareWithin(actual, ref.value, [ref.bound], ref.zeroSign ? [ref.zeroSign] : []);
  return ref.likely && actual.length === ref.value.length ? { ...cmp, likely: compareLikely(actual, ref.value, ref.likely) } : cmp;
}

/** `actual` against `expected` within the likely bound, finite elements only (non-finite ones are exact or fail anyway). */
export function compareLikely(actual: ArrayLike<number>, expected: ArrayLike<number>, likely: ArrayLike<number>): LikelyComparison {
  let worstRatio = 0;
  let beyond = 0;
  for (let i = 0; i < expected.length; i++) {
    const diff = Math.abs(actual[i] - expected[i]);
    if (!Number.isFinite(diff) || diff === 0) continue;
    if (diff > likely[i]) beyond++;
    worstRatio = Math.max(worstRatio, likely[i] > 0 ? diff / likely[i] : Infinity);
  }
  return { worstRatio, beyond };
}

/**
 * A rewritten graph's reference (`after`) against the original's (`before`): each is within its
 * bound of a correct float32 result, so a correct rewrite differs by at most the sum of the two
 * bounds (plus, for a lossy rewrite, the error it states per element, `allowance`). A zero's
 * sign is checked where both specify it.
 */
export function compareReferences(after: RefTensor, before: RefTensor, allowance?: ArrayLike<number>): Comparison {
  const bounds = allowance ? [before.bound, after.bound, allowance] : [before.bound, after.bound];
  return compareWithin(after.value, before.value, bounds, before.zeroSign && after.zeroSign ? [before.zeroSign, after.zeroSign] : []);
}
