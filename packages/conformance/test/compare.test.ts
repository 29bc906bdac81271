import { describe, expect, it } from 'vitest';
import { refTensor } from '@tessera/core';
import { FLOAT32_MAX, FLOAT32_OVERFLOW, compareToReference, describeComparison } from '../src/index.js';

const ref = (value: number[], bound: number[]) => refTensor([value.length], Float64Array.from(value), Float64Array.from(bound));
const f32 = (values: number[]) => Float32Array.from(values);

describe('compareToReference', () => {
  it('accepts exact matches with ratio 0, also with a zero bound', () => {
    const c = compareToReference(f32([1, -2, 0]), ref([1, -2, 0], [0, 0, 0]));
    expect(c).toEqual({ ok: true, worstRatio: 0, worstIndex: 0, failures: 0 });
  });

  it('accepts an element exactly at its bound and rejects one just beyond it', () => {
    // 1 + 2^-10 and 1 - 2^-10 are float32; the difference from 1 is exactly the bound.
    const atBound = compareToReference(f32([1 + 2 ** -10, 1 - 2 ** -10]), ref([1, 1], [2 ** -10, 2 ** -10]));
    expect(atBound.ok).toBe(true);
    expect(atBound.worstRatio).toBe(1);
    const beyond = compareToReference(f32([1 + 2 ** -10 + 2 ** -23]), ref([1], [2 ** -10]));
    expect(beyond.ok).toBe(false);
    expect(beyond.worstRatio).toBeGreaterThan(1);
    expect(beyond.firstFailure).toEqual({ index: 0, actual: 1 + 2 ** -10 + 2 ** -23, expected: 1, bound: 2 ** -10 });
  });

  it('checks each element against its own bound, not a global epsilon', () => {
    // An error of 1e-6 is fine on a large element with a large bound, and a failure on a small one.
    const c = compareToReference(f32([1000 + 2 ** -10, 1e-3 + 1e-6]), ref([1000, 1e-3], [1e-3, 1e-9]));
    expect(c.ok).toBe(false);
    expect(c.failures).toBe(1);
    expect(c.firstFailure?.index).toBe(1);
    expect(c.worstIndex).toBe(1);
  });

  it('counts failures and reports the lowest-index one first and the worst ratio separately', () => {
    const c = compareToReference(f32([0, 1.5, 10, 0]), ref([0, 1, 1, 0], [1, 0.25, 0.5, 1]));
    expect(c.failures).toBe(2);
    expect(c.firstFailure?.index).toBe(1);
    expect(c.worstIndex).toBe(2);
    expect(c.worstRatio).toBe(18);
  });

  it('gives ratio Infinity to a mismatch on a zero bound', () => {
    const c = compareToReference(f32([2 ** -149]), ref([0], [0]));
    expect(c.ok).toBe(false);
    expect(c.worstRatio).toBe(Infinity);
  });

  it('treats +0 and -0 as equal', () => {
    expect(compareToReference(f32([-0]), ref([0], [0])).ok).toBe(true);
  });

  describe('non-finite values', () => {
    it('requires NaN where the reference is NaN (any NaN), and nothing else', () => {
      expect(compareToReference(f32([NaN]), ref([NaN], [NaN])).ok).toBe(true);
      expect(compareToReference(new Float32Array(new Uint32Array([0xffc00001]).buffer), ref([NaN], [0])).ok).toBe(true);
      for (const a of [0, 1, Infinity, -Infinity]) expect(compareToReference(f32([a]), ref([NaN], [Infinity])).ok, String(a)).toBe(false);
    });

    it('rejects NaN where the reference is finite, whatever the bound', () => {
      const c = compareToReference(f32([NaN]), ref([1], [Infinity]));
      expect(c.ok).toBe(false);
      expect(c.worstRatio).toBe(Infinity);
    });

    it('requires the same infinity where the reference is infinite', () => {
      expect(compareToReference(f32([Infinity, -Infinity]), ref([Infinity, -Infinity], [0, 0])).ok).toBe(true);
      expect(compareToReference(f32([-Infinity]), ref([Infinity], [Infinity])).ok).toBe(false);
      expect(compareToReference(f32([FLOAT32_MAX]), ref([Infinity], [Infinity])).ok).toBe(false);
      expect(compareToReference(f32([NaN]), ref([-Infinity], [0])).ok).toBe(false);
    });

    it('rejects an infinity where the reference is finite and in range', () => {
      expect(compareToReference(f32([Infinity]), ref([1e30], [1e25])).ok).toBe(false);
      expect(compareToReference(f32([-Infinity]), ref([-FLOAT32_MAX], [0])).ok).toBe(false);
    });

    it('expects ±Infinity where the reference magnitude is beyond float32 max by more than its bound', () => {
      expect(compareToReference(f32([Infinity, -Infinity]), ref([1e39, -1e39], [1e30, 1e30])).ok).toBe(true);
      expect(compareToReference(f32([FLOAT32_MAX]), ref([1e39], [1e30])).ok).toBe(false);
      expect(compareToReference(f32([-Infinity]), ref([1e39], [1e30])).ok).toBe(false);
    });

    it('accepts either float32 max or Infinity when the bound straddles the overflow threshold', () => {
      const r = ref([FLOAT32_MAX], [FLOAT32_OVERFLOW - FLOAT32_MAX]);
      expect(compareToReference(f32([FLOAT32_MAX]), r).ok).toBe(true);
      expect(compareToReference(f32([Infinity]), r).ok).toBe(true);
      // Just below the threshold, the largest correct float32 result is FLOAT32_MAX.
      expect(compareToReference(f32([Infinity]), ref([FLOAT32_MAX], [(FLOAT32_OVERFLOW - FLOAT32_MAX) / 2])).ok).toBe(false);
    });

    it('accepts float32 max and Infinity for a reference just beyond float32 max whose bound covers one rounding', () => {
      const r = ref([FLOAT32_MAX * (1 + 2 ** -26)], [2 ** -24 * FLOAT32_MAX]);
      expect(compareToReference(f32([FLOAT32_MAX]), r).ok).toBe(true);
      expect(compareToReference(f32([Infinity]), r).ok).toBe(true);
      expect(compareToReference(f32([-Infinity]), r).ok).toBe(false);
    });
  });

  it('fails on a length mismatch', () => {
    const c = compareToReference(f32([1, 2]), ref([1], [0]));
    expect(c.ok).toBe(false);
    expect(describeComparison(c)).toMatch(/2 elements, expected 1/);
  });

  it('describes the first failure with its multi-index', () => {
    const r = refTensor([2, 2], Float64Array.from([0, 0, 0, 1]), Float64Array.from([0, 0, 0, 0.5]));
    expect(describeComparison(compareToReference(f32([0, 0, 0, 2]), r), r.shape)).toMatch(/index 3 \[1,1\]: got 2, expected 1 ± 0.5/);
  });

  it('describes a wrong sign of zero with the signs written out', () => {
    const r = { ...refTensor([2, 2], Float64Array.from([1, 0, 0, 0]), new Float64Array(4)), zeroSign: Uint8Array.of(1, 1, 0, 1) };
    const c = compareToReference(f32([1, 0, -0, -0]), r);
    expect(c).toMatchObject({ ok: false, failures: 1 });
    expect(describeComparison(c, r.shape)).toMatch(/1 element\(s\) wrong; first at index 3 \[1,1\]: got -0, expected \+0 \(wrong sign of zero/);
  });
});
