import { describe, expect } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { maxpool } from '../../src/kernels/maxpool.js';
import type { Conv2dGeometry } from '../../src/kernels/conv2d.js';
import { firstBitDifference, poolGeometryOf, poolReference, randomArray, rng, splitRanges } from './helpers.js';

interface PoolCase { g: Conv2dGeometry; x: Float32Array; xOff: number; yOff: number }

const int = (min: number, max: number) => fc.integer({ min, max });

const poolArb = fc.record({
  batch: int(1, 2), inH: int(1, 9), inW: int(1, 9), C: int(1, 6), kH: int(1, 4), kW: int(1, 4),
  strideH: int(1, 3), strideW: int(1, 3), dilationH: int(1, 2), dilationW: int(1, 2),
  pt: int(0, 3), pl: int(0, 3), pb: int(0, 3), pr: int(0, 3),
  xOff: int(0, 4), yOff: int(0, 4), nanRate: fc.constantFrom(0, 0.05, 0.3), seed: fc.integer(),
}).map((p): PoolCase => {
  const g = poolGeometryOf(p);
  const x = randomArray(p.xOff + g.batch * g.inH * g.inW * g.inC, p.seed);
  const r = rng(p.seed + 7);
  for (let i = p.xOff; i < x.length; i++) if (r() < p.nanRate) x[i] = NaN;
  // Make all-negative windows likely, so a wrong "padding = 0" would show.
  for (let i = p.xOff; i < x.length; i++) x[i] -= 0.5;
  return { g, x, xOff: p.xOff, yOff: p.yOff };
});

function run(t: PoolCase, ranges: Array<[number, number]>): Float32Array {
  const g = t.g;
  const y = new Float32Array(t.yOff + g.batch * g.outH * g.outW * g.inC).fill(123);
  for (const [r0, r1] of ranges) maxpool(g, t.x, t.xOff, y, t.yOff, r0, r1);
  for (let i = 0; i < t.yOff; i++) expect(y[i]).toBe(123);
  return y.subarray(t.yOff);
}

describe('maxpool', () => {
  test.prop([poolArb], { numRuns: 300 })(
    'maxpool equals Math.max over in-bounds taps exactly: padding never wins, NaN in a window gives NaN',
    (t) => {
      expect(firstBitDifference(run(t, [[0, t.g.batch * t.g.outH * t.g.outW]]), poolReference(t.g, t.x, t.xOff))).toBe(-1);
    },
  );

  test.prop([poolArb, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 2 })], { numRuns: 100 })(
    'maxpool over disjoint row ranges is bit-identical to one full-range call',
    (t, cuts) => {
      const M = t.g.batch * t.g.outH * t.g.outW;
      expect(firstBitDifference(run(t, [[0, M]]), run(t, splitRanges(M, cuts)))).toBe(-1);
    },
  );

  test('maxpool keeps NaN wherever it appears in the window', () => {
    const g: Conv2dGeometry = {
      batch: 1, inH: 1, inW: 3, inC: 1, kH: 1, kW: 3, outC: 1, outH: 1, outW: 1,
      strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 0, padLeft: 0,
    };
    for (const x of [[NaN, 1, 2], [1, NaN, 2], [1, 2, NaN], [-Infinity, NaN, Infinity]]) {
      const y = new Float32Array(1);
      maxpool(g, new Float32Array(x), 0, y, 0, 0, 1);
      expect(Number.isNaN(y[0])).toBe(true);
    }
  });
});
