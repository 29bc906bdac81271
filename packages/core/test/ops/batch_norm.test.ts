/**
 * batch_norm's bound against float32 evaluations on a device that flushes subnormals to zero
 * (GLSL ES allows it, SwiftShader does), in every order a backend may multiply d = x - mean,
 * scale and r = 1 / sqrt(variance + epsilon).
 */
import { describe, expect, test } from 'vitest';
import { TINY32 } from '../../src/index.js';
import { reference } from './reference.js';

const f32 = Math.fround;
/** One float32 operation's result, flushed to (signed) zero when subnormal. */
const ftz = (v: number): number => (Math.abs(f32(v)) < TINY32 ? 0 * Math.sign(v) : f32(v));
const fromBits = (bits: number): number => new Float32Array(Uint32Array.of(bits).buffer)[0];

interface Case {
  readonly x: number;
  readonly mean: number;
  readonly variance: number;
  readonly offset: number;
  readonly scale: number;
  readonly epsilon: number;
}

/** The flushing float32 results of the orders: (d s) r, d (s r), (d r) s, and the folded x a - mean a + offset. */
function flushedResults(c: Case): number[] {
  const r = ftz(1 / Math.sqrt(ftz(c.variance + f32(c.epsilon))));
  const d = ftz(c.x - c.mean);
  const a = ftz(c.scale * r);
  return [
    ftz(ftz(ftz(d * c.scale) * r) + c.offset),
    ftz(ftz(d * a) + c.offset),
    ftz(ftz(ftz(d * r) * c.scale) + c.offset),
    ftz(ftz(ftz(c.x * a) - ftz(c.mean * a)) + c.offset),
  ];
}

function referenceOf(c: Case): { value: number; bound: number } {
  const one = (v: number): [number[], number[]] => [[1], [v]];
  const y = reference('batch_norm', [one(c.x), one(c.mean), one(c.variance), one(c.offset), one(c.scale)], { epsilon: c.epsilon });
  return { value: y.value[0], bound: y.bound[0] };
}

/** xorshift32 in [0, 1). */
function stream(seed: number): () => number {
  let s = seed;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

describe('batch_norm bound on a flushing device', () => {
  // The conformance failure of issue 21 (webgl, seed 1): d * scale = -1.05e-38 is subnormal, r = 31.6.
  const issue: Case = { x: 0, mean: fromBits(0xa12359f3), variance: 0, offset: 0, scale: fromBits(0x9eb3b8cc), epsilon: 1e-3 };

  test('the difference first flushes d * scale and returns 0 for -3.3e-37: within the bound, as every other order', () => {
    const { value, bound } = referenceOf(issue);
    expect(value).toBeCloseTo(-3.330383822796977e-37, 50);
    const results = flushedResults(issue);
    expect(results[0]).toBe(0);
    expect(results[1]).not.toBe(0);
    for (const y of results) expect(Math.abs(y - value)).toBeLessThanOrEqual(bound);
  });

  test('the flush allowance is no more than the lost product: the value with the wrong sign is still refused', () => {
    const { value, bound } = referenceOf(issue);
    expect(Math.abs(-value - value)).toBeGreaterThan(bound);
  });

  test('random operands around the subnormal range: every order within the bound', () => {
    const next = stream(21);
    const pick = (lo: number, hi: number) => (next() < 0.5 ? -1 : 1) * f32((1 + next()) * 2 ** Math.floor(lo + next() * (hi - lo)));
    for (let i = 0; i < 5000; i++) {
      const c: Case = {
        x: next() < 0.3 ? 0 : pick(-80, 10),
        mean: pick(-80, 10),
        variance: next() < 0.3 ? 0 : Math.abs(pick(-60, 20)),
        offset: next() < 0.5 ? 0 : pick(-130, -100),
        scale: pick(-80, 10),
        epsilon: [1e-3, 1e-5, 2 ** -120][i % 3],
      };
      const { value, bound } = referenceOf(c);
      for (const [k, y] of flushedResults(c).entries()) {
        expect(Math.abs(y - value), `order ${k} of ${JSON.stringify(c)}`).toBeLessThanOrEqual(bound);
      }
    }
  });
});
