import { describe, expect, it } from 'vitest';
import { BOUND_C, GraphBuilder, LIKELY_LAMBDA, Tensor, U32, compareLikely, compareReferences, compareToReference, compareWithin, evaluate, refTensor } from '../src/index.js';

const ref = (value: number[], bound: number[]) => refTensor([value.length], Float64Array.from(value), Float64Array.from(bound));

describe('the comparator', () => {
  it('counts an exact match as 0 even with a zero bound, and a miss with a zero bound as Infinity', () => {
    expect(compareToReference(Float32Array.of(0, 3), ref([0, 3], [0, 0]))).toEqual({ ok: true, worstRatio: 0, worstIndex: 0, failures: 0 });
    const miss = compareToReference(Float32Array.of(0, 4), ref([0, 3], [0, 0]));
    expect(miss).toMatchObject({ ok: false, worstRatio: Infinity, worstIndex: 1, failures: 1, firstFailure: { index: 1, actual: 4, expected: 3, bound: 0 } });
  });

  it('compares two references within the sum of their bounds, plus an allowance', () => {
    const before = ref([1, 2], [0.25, 0]);
    const after = ref([1.5, 2], [0.25, 0]);
    expect(compareReferences(after, before)).toMatchObject({ ok: true, worstRatio: 1 });
    expect(compareReferences(ref([1.75, 2], [0.25, 0]), before)).toMatchObject({ ok: false, worstRatio: 1.5, firstFailure: { index: 0, bound: 0.5 } });
    expect(compareReferences(ref([1.75, 2], [0.25, 0]), before, Float64Array.of(0.25, 0))).toMatchObject({ ok: true, worstRatio: 1 });
  });

  it('fails on a length mismatch, and NaN must be NaN', () => {
    expect(compareWithin([1, 2], [1], [[0]])).toMatchObject({ ok: false, firstFailure: { index: -1, actual: 2, expected: 1 } });
    expect(compareWithin([NaN, 1], [NaN, NaN], [[0, 0]])).toMatchObject({ ok: false, failures: 1, worstRatio: Infinity, worstIndex: 1 });
  });

  describe('the sign of zero, where the reference specifies it', () => {
    const signed = (value: number[], zeroSign: number[]) => ({ ...ref(value, value.map(() => 0)), zeroSign: Uint8Array.from(zeroSign) });

    it('fails a zero of the other sign, with signOfZero and the signed values in the failure', () => {
      const c = compareToReference(Float32Array.of(1, -0), signed([1, 0], [1, 1]));
      expect(c).toMatchObject({ ok: false, failures: 1, worstRatio: Infinity, worstIndex: 1, firstFailure: { index: 1, bound: 0, signOfZero: true } });
      expect(Object.is(c.firstFailure!.actual, -0) && Object.is(c.firstFailure!.expected, 0)).toBe(true);
      expect(compareToReference(Float32Array.of(0), signed([-0], [1])).firstFailure).toMatchObject({ signOfZero: true });
    });

    it('passes the same sign, and either sign where unspecified (flag 0 or no flags at all)', () => {
      expect(compareToReference(Float32Array.of(0, -0), signed([0, -0], [1, 1])).ok).toBe(true);
      expect(compareToReference(Float32Array.of(-0, 0), signed([0, -0], [0, 0])).ok).toBe(true);
      expect(compareToReference(Float32Array.of(-0), ref([0], [0])).ok).toBe(true);
    });

    it('judges a non-zero result for a zero reference by its distance alone (a bound allows it)', () => {
      const r = { ...ref([0], [1e-6]), zeroSign: Uint8Array.of(1) };
      expect(compareToReference(Float32Array.of(1e-7), r)).toMatchObject({ ok: true });
      expect(compareToReference(Float32Array.of(-0), r).firstFailure).toMatchObject({ signOfZero: true });
    });

    it('checks a rewrite only where both references specify the sign', () => {
      expect(compareReferences(signed([-0], [1]), signed([0], [1]))).toMatchObject({ ok: false, firstFailure: { signOfZero: true } });
      expect(compareReferences(signed([-0], [1]), ref([0], [0])).ok).toBe(true);
      expect(compareReferences(signed([-0], [0]), signed([0], [1])).ok).toBe(true);
    });

    it('compareWithin checks where every sign array is non-zero', () => {
      expect(compareWithin([-0, -0], [0, 0], [[0, 0]], [[1, 1], [0, 1]])).toMatchObject({ ok: false, failures: 1, firstFailure: { index: 1 } });
    });
  });
});

describe('the likely (probabilistic) bound', () => {
  // A K-term dot product of positive values, as the reference states it.
  const dot = (k: number) => {
    const g = new GraphBuilder('dot');
    const a = g.input('a', [1, k]);
    const graph = g.build({ y: g.matmul(a, g.constant('b', new Tensor([k, 1], new Float32Array(k).fill(0.75)))) });
    return { y: evaluate(graph, { a: new Float32Array(k).fill(1.25) }).y };
  };

  it('is stated by matmul, never above the rigorous bound, and tighter by about sqrt(K) for large K', () => {
    for (const k of [1, 8, 64, 2048]) {
      const { y } = dot(k);
      expect(y.likely![0]).toBeLessThanOrEqual(y.bound[0]);
      // rigorous c (K + 2) u abs against lambda sqrt(K + 2) u abs
      if (k >= 64) expect(y.bound[0] / y.likely![0]).toBeCloseTo((BOUND_C * Math.sqrt(k + 2)) / LIKELY_LAMBDA, 1);
    }
  });

  it('flags an error that grows with K (a sum rounded towards zero) that the rigorous bound accepts', () => {
    const k = 2048;
    const { y } = dot(k);
    // Rounding every partial sum of equal positive terms towards zero loses about u / 2 per term.
    const truncated = Float32Array.of(y.value[0] * (1 - (k * U32) / 2));
    const cmp = compareToReference(truncated, y);
    expect(cmp.ok).toBe(true);
    expect(cmp.likely).toMatchObject({ beyond: 1 });
    expect(cmp.likely!.worstRatio).toBeGreaterThan(1);
    // A correctly rounded result is well within it.
    expect(compareToReference(Float32Array.of(y.value[0]), y).likely).toEqual({ worstRatio: expect.any(Number), beyond: 0 });
  });

  it('counts elements beyond it, ignoring exact and non-finite ones', () => {
    expect(compareLikely([1, 2.5, NaN, 4], [1, 2, NaN, 3], [0, 1, 0, 0.5])).toEqual({ worstRatio: 2, beyond: 1 });
  });
});
