import { describe, expect } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { transposePlan, transposeUnits } from '../../src/kernels/transpose.js';
import { splitRanges } from './helpers.js';

const SENTINEL = -777.25;

/** The oracle: out[i_0..i_r-1] = x at the input index whose axis perm[a] is i_a, by divisions per element. */
function naive(x: Float32Array, shape: number[], perm: number[]): Float32Array {
  const out = shape.length ? perm.map((p) => shape[p]) : [];
  const n = x.length;
  const y = new Float32Array(n);
  for (let o = 0; o < n; o++) {
    const idx = new Array<number>(out.length);
    for (let a = out.length - 1, r = o; a >= 0; a--) {
      idx[a] = r % out[a];
      r = Math.floor(r / out[a]);
    }
    const inIdx = new Array<number>(shape.length);
    perm.forEach((p, a) => (inIdx[p] = idx[a]));
    let src = 0;
    for (let a = 0; a < shape.length; a++) src = src * shape[a] + inIdx[a];
    y[o] = x[src];
  }
  return y;
}

/** Dimensions tiny, at the tile edges (31..33, 63..65) or 1 (axes the plan drops). */
const dimArb = fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constantFrom(1, 3, 31, 32, 33, 63, 64, 65));

const caseArb = fc
  .array(dimArb, { minLength: 1, maxLength: 6 })
  .filter((s) => s.reduce((p, d) => p * d, 1) <= 1 << 14)
  .chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      perm: fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length }),
      cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }),
      xOff: fc.nat(3),
      yOff: fc.nat(3),
    }),
  );

describe('transpose kernel', () => {
  test.prop([caseArb], { numRuns: 200 })('any split of the units writes every output element as the naive index oracle does, and nothing else', ({ shape, perm, cuts, xOff, yOff }) => {
    const n = shape.reduce((p, d) => p * d, 1);
    const x = new Float32Array(n + xOff);
    for (let i = 0; i < x.length; i++) x[i] = i * 1.5 - 7;
    const y = new Float32Array(n + yOff + 2).fill(SENTINEL);
    const plan = transposePlan(shape, perm);
    for (const [s, e] of splitRanges(plan.units, cuts)) transposeUnits(plan, x, xOff, y, yOff, s, e);
    const want = naive(x.subarray(xOff), shape, perm);
    expect(Array.from(y.subarray(yOff, yOff + n))).toEqual(Array.from(want));
    expect([...y.subarray(0, yOff), ...y.subarray(yOff + n)].every((v) => v === SENTINEL)).toBe(true);
  });

  test('NHWC <-> NCHW of 224x224x3 and 56x56x256: tiles of the 2-D transpose, many units to split', () => {
    const a = transposePlan([1, 224, 224, 3], [0, 3, 1, 2]);
    expect(a.shape).toEqual([3, 224 * 224]);
    expect(a.units).toBeGreaterThan(100);
    const b = transposePlan([1, 256, 56, 56], [0, 2, 3, 1]);
    expect(b.shape).toEqual([56 * 56, 256]);
    expect(b.units).toBeGreaterThan(100);
    // Moving only axes of size 1 copies runs.
    expect(transposePlan([1, 5, 1, 7], [2, 1, 0, 3]).q).toBe(-1);
  });
});
