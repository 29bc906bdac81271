import { describe, expect } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { copy, relu } from '../../src/kernels/elementwise.js';
import { biasAdd, biasAddRelu } from './helpers.js';
import { firstBitDifference, randomArray } from './helpers.js';

const specials = [NaN, -0, 0, Infinity, -Infinity, -1.5, 2.25];

const caseArb = fc.record({
  n: fc.integer({ min: 0, max: 200 }),
  channels: fc.integer({ min: 1, max: 9 }),
  xOff: fc.integer({ min: 0, max: 4 }),
  yOff: fc.integer({ min: 0, max: 4 }),
  biasOff: fc.integer({ min: 0, max: 4 }),
  a: fc.double({ min: 0, max: 1, noNaN: true }),
  b: fc.double({ min: 0, max: 1, noNaN: true }),
  seed: fc.integer(),
}).map((p) => {
  const x = randomArray(p.xOff + p.n, p.seed);
  for (let i = 0; i < specials.length && i < p.n; i++) x[p.xOff + ((i * 7) % p.n)] = specials[i];
  const bias = randomArray(p.biasOff + p.channels, p.seed + 1);
  const lo = Math.floor(Math.min(p.a, p.b) * p.n);
  const hi = Math.floor(Math.max(p.a, p.b) * p.n);
  return { ...p, x, bias, lo, hi };
});

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

function expectedBias(t: Case, i: number, withRelu: boolean): number {
  const v = Math.fround(t.x[t.xOff + i] + t.bias[t.biasOff + (i % t.channels)]);
  return withRelu && v <= 0 ? 0 : v;
}

describe('elementwise', () => {
  test.prop([caseArb])('biasAdd adds bias[i mod channels] on [start, end) and touches nothing else', (t) => {
    const y = new Float32Array(t.yOff + t.n).fill(99);
    biasAdd(t.x, t.xOff, t.bias, t.biasOff, t.channels, y, t.yOff, t.lo, t.hi);
    for (let i = 0; i < y.length; i++) {
      const rel = i - t.yOff;
      const want = rel >= t.lo && rel < t.hi ? expectedBias(t, rel, false) : 99;
      expect(Object.is(y[i], want) || (Number.isNaN(y[i]) && Number.isNaN(want))).toBe(true);
    }
  });

  test.prop([caseArb])('biasAddRelu equals biasAdd then relu bit for bit', (t) => {
    const fused = new Float32Array(t.yOff + t.n);
    const twoStep = new Float32Array(t.yOff + t.n);
    biasAddRelu(t.x, t.xOff, t.bias, t.biasOff, t.channels, fused, t.yOff, t.lo, t.hi);
    biasAdd(t.x, t.xOff, t.bias, t.biasOff, t.channels, twoStep, t.yOff, t.lo, t.hi);
    relu(twoStep, t.yOff, twoStep, t.yOff, t.lo, t.hi);
    expect(firstBitDifference(fused, twoStep)).toBe(-1);
  });

  test.prop([caseArb])('relu is max(x, 0) with NaN kept as NaN and relu(-0) = +0', (t) => {
    const y = new Float32Array(t.yOff + t.n).fill(99);
    relu(t.x, t.xOff, y, t.yOff, t.lo, t.hi);
    for (let i = t.lo; i < t.hi; i++) {
      const v = t.x[t.xOff + i];
      const got = y[t.yOff + i];
      if (Number.isNaN(v)) expect(Number.isNaN(got)).toBe(true);
      else expect(Object.is(got, Math.max(v, 0))).toBe(true); // Math.max(-0, 0) is +0
    }
    for (let i = 0; i < t.yOff + t.lo; i++) expect(y[i]).toBe(99);
    for (let i = t.yOff + t.hi; i < y.length; i++) expect(y[i]).toBe(99);
  });

  test.prop([caseArb])('copy within one buffer behaves like copying through a temporary', (t) => {
    const buf = t.x.slice();
    const expected = buf.slice();
    const src = Array.from(buf.subarray(t.xOff + t.lo, t.xOff + t.hi));
    for (let i = 0; i < src.length; i++) expected[t.yOff + t.lo + i] = src[i];
    if (t.yOff + t.hi > buf.length) return; // out of the buffer: not a valid call
    copy(buf, t.xOff, buf, t.yOff, t.lo, t.hi);
    expect(firstBitDifference(buf, expected)).toBe(-1);
  });
});
