/*
 * The comparator itself (checkElement, compareToReference: one rule for every caller) lives in
 * @tessera/core; this module re-exports it and words its results for reports.
 */
import type { Comparison } from '@tessera/core';

export { FLOAT32_MAX, FLOAT32_OVERFLOW, checkElement, compareToReference, type Comparison, type ElementFailure } from '@tessera/core';

/** One line describing a comparison's first failure, for messages. */
export function describeComparison(c: Comparison, shape?: readonly number[]): string {
  if (c.ok) return `ok (worst error ${formatRatio(c.worstRatio)} of its bound)`;
  const f = c.firstFailure!;
  if (f.index < 0) return `output has ${f.actual} elements, expected ${f.expected}`;
  const at = shape ? ` ${JSON.stringify(unravel(f.index, shape))}` : '';
  if (f.signOfZero) {
    return `${c.failures} element(s) wrong; first at index ${f.index}${at}: got ${signed(f.actual)}, expected ${signed(f.expected)} (wrong sign of zero: the reference specifies it there, docs/SEMANTICS.md "The sign of zero")`;
  }
  return (
    `${c.failures} element(s) out of bound; first at index ${f.index}${at}: got ${f.actual}, expected ${f.expected} ± ${f.bound}` +
    ` (error ${Math.abs(f.actual - f.expected)}; worst ratio ${formatRatio(c.worstRatio)} at index ${c.worstIndex})`
  );
}

/** ±0 written with its sign (`${-0}` is "0"). */
const signed = (v: number): string => (v === 0 ? (Object.is(v, -0) ? '-0' : '+0') : String(v));

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
