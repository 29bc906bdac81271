import { describe, expect } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { gemm, packB, packBInto, packedBSize } from '../../src/kernels/gemm.js';
import { SENTINEL, callOf, caseCall, extract, firstBitDifference, firstViolation, gemmCaseArb, gemmReference, paddingUntouched, randomArray, splitRanges, type GemmCase } from './helpers.js';

/** Shapes from 1 to ~70 (edge tiles in every direction), optional deep K across k-blocks. */
const caseArb = (kRange: [number, number], mnMax = 70) => gemmCaseArb([1, mnMax], [1, mnMax], kRange);

function runPacked(t: GemmCase, ranges: Array<[number, number]>): Float32Array {
  const pb = packB(t.K, t.N, t.b, t.bOff, t.ldb, t.transB);
  const c = t.c.slice();
  for (const [r0, r1] of ranges) gemm(caseCall(t, t.a, pb, 0, c, t.epilogue.bias ?? null, r0, r1));
  return c;
}

describe('gemm', () => {
  test.prop([caseArb([1, 70])], { numRuns: 300 })(
    'gemm equals the float64 product within 2(K+2)u*sum|ab| and writes nothing outside C',
    (t) => {
      const c = runPacked(t, [[0, t.M]]);
      const { ref, absSum } = gemmReference(t);
      expect(firstViolation(extract(t, c), ref, absSum, t.K)).toBeUndefined();
      expect(paddingUntouched(t, c)).toBe(true);
    },
  );

  test.prop([caseArb([200, 600], 13)], { numRuns: 60 })(
    'gemm with K spanning several k-blocks equals the float64 product within the bound',
    (t) => {
      const c = runPacked(t, [[0, t.M]]);
      const { ref, absSum } = gemmReference(t);
      expect(firstViolation(extract(t, c), ref, absSum, t.K)).toBeUndefined();
    },
  );

  test.prop([caseArb([1, 300]), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 2 })], { numRuns: 150 })(
    'gemm over disjoint row ranges is bit-identical to one full-range call',
    (t, cuts) => {
      const full = runPacked(t, [[0, t.M]]);
      // Compute the ranges in shuffled order: independence must not rely on order.
      const split = runPacked(t, splitRanges(t.M, cuts).reverse());
      expect(firstBitDifference(full, split)).toBe(-1);
    },
  );

  test.prop([caseArb([1, 40]), fc.integer({ min: 0, max: 9 })], { numRuns: 80 })(
    'B packed at any offset of another buffer (a SharedArrayBuffer arena, a scratch) gives bit-identical results',
    (t, dstOff) => {
      const full = runPacked(t, [[0, t.M]]);
      const arena = new Float32Array(new SharedArrayBuffer(4 * (dstOff + packedBSize(t.K, t.N))));
      packBInto(arena, dstOff, t.K, t.N, t.b, t.bOff, t.ldb, t.transB);
      const c = t.c.slice();
      gemm(caseCall(t, t.a, arena.slice(), dstOff, c, t.epilogue.bias ?? null, 0, t.M));
      expect(firstBitDifference(full, c)).toBe(-1);
    },
  );

  test('gemm with K = 0 writes bias (then relu) only', () => {
    const pb = packB(0, 2, new Float32Array(0), 0, 2, false);
    const c = new Float32Array(4).fill(SENTINEL);
    gemm(callOf({ M: 2, N: 2, K: 0, b: pb, c, ldc: 2, bias: new Float32Array([-1, 3]), activation: 'relu', rowEnd: 2 }));
    expect(Array.from(c)).toEqual([0, 3, 0, 3]);
  });

  test('gemm rejects a row range outside [0, M), a too small packed B, and A or C outside their buffers', () => {
    const pb = packB(2, 2, new Float32Array(4), 0, 2, false);
    const ok = { M: 2, N: 2, K: 2, a: new Float32Array(4), lda: 2, b: pb, c: new Float32Array(4), ldc: 2, rowEnd: 2 };
    expect(() => gemm(callOf({ ...ok, rowEnd: 3 }))).toThrow(RangeError);
    expect(() => gemm(callOf({ ...ok, N: 4, a: new Float32Array(8), c: new Float32Array(8), ldc: 4 }))).toThrow(RangeError);
    expect(() => gemm(callOf({ ...ok, aOff: 1 }))).toThrow(RangeError);
    expect(() => gemm(callOf({ ...ok, cOff: 1 }))).toThrow(RangeError);
  });

  test('gemm propagates NaN and Infinity from the inputs', () => {
    const a = new Float32Array([NaN, 1, 1, 1]);
    const pb = packB(2, 2, new Float32Array([1, Infinity, 1, 1]), 0, 2, false);
    const c = new Float32Array(4);
    gemm(callOf({ M: 2, N: 2, K: 2, a, lda: 2, b: pb, c, ldc: 2, activation: 'relu', rowEnd: 2 }));
    expect(Number.isNaN(c[0])).toBe(true);
    expect(Number.isNaN(c[1])).toBe(true);
    expect(c[2]).toBe(2);
    expect(c[3]).toBe(Infinity);
  });
});
