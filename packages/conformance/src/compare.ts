import type { RefTensor } from '@tessera/core';

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
}

export interface Comparison {
  /** True when every element is acceptable. */
  readonly ok: boolean;
  /**
   * max over elements of |actual - ref.value| / ref.bound: 1 is an element exactly at its bound.
   * An exact match counts 0 (also for a zero bound and for matching NaN / ±Inf); any failing
   * element whose error cannot be expressed as a fraction of its bound (a zero bound, a
   * non-finite mismatch) counts Infinity. 0 for empty tensors.
   */
  readonly worstRatio: number;
  /** Element with the largest ratio; -1 for empty tensors. */
  readonly worstIndex: number;
  /** Number of elements that fail. */
  readonly failures: number;
  /** The lowest-index failing element. */
  readonly firstFailure?: ElementFailure;
}

/**
 * Compares a backend's float32 output with the float64 reference, element by element, each
 * element against its own bound (`ref.bound`, the float32 error a correct backend may have,
 * derived and carried through the graph by core's reference). There is no global epsilon.
 *
 * An element `a` (actual) with reference value `r` and bound `b` is acceptable when:
 * - `r` is NaN: `a` is NaN (any NaN).
 * - `r` is ±Infinity: `a` is the same infinity.
 * - `r` is finite: `a` is a float32 rounding of some real in `[r - b, r + b]`, that is
 *   - `a` is finite and `|a - r| <= b` (so a value exactly at the bound passes), or
 *   - `a` is +Infinity and `r + b >= FLOAT32_OVERFLOW` (the interval reaches the reals that
 *     round to +Infinity), or `a` is -Infinity and `r - b <= -FLOAT32_OVERFLOW`.
 *   In particular a reference whose magnitude is beyond float32's range by more than its
 *   bound expects ±Infinity: no finite float32 is within the bound of it. A NaN or infinite
 *   `a` for a finite in-range `r` fails. (Core gives non-finite values a bound of 0, so the
 *   bound of a finite value is never NaN; if it were, `diff <= NaN` fails the element.)
 * +0 and -0 are equal.
 */
export function compareToReference(actual: ArrayLike<number>, ref: RefTensor): Comparison {
  const n = ref.value.length;
  if (actual.length !== n) {
    return {
      ok: false,
      worstRatio: Infinity,
      worstIndex: -1,
      failures: Math.max(n, actual.length),
      firstFailure: { index: -1, actual: actual.length, expected: n, bound: 0 },
    };
  }
  let worstRatio = 0;
  let worstIndex = n > 0 ? 0 : -1;
  let failures = 0;
  let firstFailure: ElementFailure | undefined;
  for (let i = 0; i < n; i++) {
    const a = actual[i];
    const r = ref.value[i];
    const b = ref.bound[i];
    const { ok, ratio } = checkElement(a, r, b);
    if (!ok) {
      failures++;
      firstFailure ??= { index: i, actual: a, expected: r, bound: b };
    }
    if (ratio > worstRatio) {
      worstRatio = ratio;
      worstIndex = i;
    }
  }
  return firstFailure ? { ok: false, worstRatio, worstIndex, failures, firstFailure } : { ok: true, worstRatio, worstIndex, failures };
}

/** One element of `compareToReference`: whether it passes and its error as a fraction of the bound. */
export function checkElement(a: number, r: number, b: number): { ok: boolean; ratio: number } {
  if (Number.isNaN(r)) return Number.isNaN(a) ? PASS : FAIL;
  if (r === Infinity || r === -Infinity) return a === r ? PASS : FAIL;
  if (Number.isNaN(a)) return FAIL;
  if (a === Infinity) return r + b >= FLOAT32_OVERFLOW ? PASS : FAIL;
  if (a === -Infinity) return r - b <= -FLOAT32_OVERFLOW ? PASS : FAIL;
  const diff = Math.abs(a - r);
  if (diff === 0) return PASS;
  const ok = diff <= b;
  const ratio = b > 0 ? diff / b : Infinity;
  return { ok, ratio: Number.isNaN(ratio) ? Infinity : ratio };
}

const PASS = Object.freeze({ ok: true, ratio: 0 });
const FAIL = Object.freeze({ ok: false, ratio: Infinity });

/** One line describing a comparison's first failure, for messages. */
export function describeComparison(c: Comparison, shape?: readonly number[]): string {
  if (c.ok) return `ok (worst error ${formatRatio(c.worstRatio)} of its bound)`;
  const f = c.firstFailure!;
  if (f.index < 0) return `output has ${f.actual} elements, expected ${f.expected}`;
  const at = shape ? ` ${JSON.stringify(unravel(f.index, shape))}` : '';
  return (
    `${c.failures} element(s) out of bound; first at index ${f.index}${at}: got ${f.actual}, expected ${f.expected} ± ${f.bound}` +
    ` (error ${Math.abs(f.actual - f.expected)}; worst ratio ${formatRatio(c.worstRatio)} at index ${c.worstIndex})`
  );
}

export function formatRatio(r: number): string {
  return Number.isFinite(r) ? r.toPrecision(3) : String(r);
}

function unravel(index: number, shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  for (let a = shape.length - 1; a >= 0; a--) {
    out[a] = index % shape[a];
    index = Math.floor(index / shape[a]);
  }
  return out;
}
