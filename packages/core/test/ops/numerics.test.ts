import { describe, expect, test } from 'vitest';
import { BOUND_C, DotAccumulator, GraphBuilder, TINY32, U32, Tensor, addBound, dotBound, evaluate, evaluateAll } from '../../src/index.js';

const u = 2 ** -24;
const T = 2 ** -126;

/** xorshift32 stream of float32 values with random signs and exponents in [-e, e]. */
function data(n: number, seed: number, e: number): Float32Array {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
  return Float32Array.from({ length: n }, () => (next() < 0.5 ? -1 : 1) * (1 + next()) * 2 ** (Math.floor(next() * (2 * e + 1)) - e));
}

describe('tolerance model (ops/numerics.ts)', () => {
  test('constants: u = 2^-24, TINY = 2^-126 (smallest normal float32), c = 2', () => {
    expect(U32).toBe(u);
    expect(TINY32).toBe(T);
    expect(Math.fround(T)).toBe(T);
    expect(Math.fround(T / 2)).toBeGreaterThan(0); // subnormal: a flush-to-zero backend would give 0
    expect(BOUND_C).toBe(2);
  });

  test('dotBound(K, S) = c (K + 2) u S + (K + 2) TINY; addBound(S) = c u S + 3 TINY', () => {
    expect(dotBound(3, 10)).toBe(2 * 5 * u * 10 + 5 * T);
    expect(dotBound(0, 0)).toBe(2 * T);
    expect(addBound(8)).toBe(2 * u * 8 + 3 * T);
  });

  test('an accumulator carries the operands\' bounds: bx |w| + |x| bw + bx bw per product', () => {
    const acc = new DotAccumulator();
    acc.add(2, 0.125, -3, 0.25);
    acc.add(-1, 0, 4, 0.5);
    expect(acc.value).toBe(-6 - 4);
    expect(acc.abs).toBe(6 + 4);
    expect(acc.carried).toBe(0.125 * 3 + 2 * 0.25 + 0.125 * 0.25 + (0 + 1 * 0.5 + 0));
    expect(acc.bound(2)).toBe(acc.carried + dotBound(2, 10));
  });

  test('bounds grow along the graph: a second matmul carries the first one\'s bound times |w|', () => {
    const g = new GraphBuilder('chain');
    const a = g.input('a', [1, 2]);
    const h = g.matmul(a, g.constant('w1', new Tensor([2, 1], [1, 1])), { name: 'h' });
    const y = g.matmul(h, g.constant('w2', new Tensor([1, 1], [2])), { name: 'y' });
    const all = evaluateAll(g.build({ y }), { a: Float32Array.from([1, 2]) });
    // h = 3 from 2 products: 2 * 4 * u * 3 + 4 T. y = 6 from 1 product: carried 2 * bound(h), plus 2 * 3 * u * 6 + 3 T.
    expect(all.get('h')!.bound[0]).toBe(24 * u + 4 * T);
    expect(all.get('y')!.value[0]).toBe(6);
    expect(all.get('y')!.bound[0]).toBe(2 * (24 * u + 4 * T) + 36 * u + 3 * T);
  });

  test('a float32 matmul, accumulated forwards, backwards or pairwise with every step rounded, stays within the bound', () => {
    const f = Math.fround;
    for (let seed = 1; seed <= 40; seed++) {
      const [m, k, n] = [3, 1 + ((seed * 7) % 60), 4];
      const a = data(m * k, seed, 10);
      const b = data(k * n, seed + 1000, 10);
      const g = new GraphBuilder('mm');
      const y = g.matmul(g.input('a', [m, k]), g.input('b', [k, n]));
      const ref = evaluate(g.build({ y }), { a, b }).y;
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          const products = Array.from({ length: k }, (_, p) => f(a[i * k + p] * b[p * n + j]));
          const forward = products.reduce((s, p) => f(s + p), 0);
          const backward = [...products].reverse().reduce((s, p) => f(s + p), 0);
          const pairwise = (xs: number[]): number => (xs.length === 1 ? xs[0] : f(pairwise(xs.slice(0, xs.length >> 1)) + pairwise(xs.slice(xs.length >> 1))));
          for (const got of [forward, backward, pairwise(products)]) {
            expect(Math.abs(got - ref.value[i * n + j])).toBeLessThanOrEqual(ref.bound[i * n + j]);
          }
        }
    }
  });

  test('flush-to-zero is covered by the TINY term: products below 2^-126 may all vanish', () => {
    // four products of 2^-70 * 2^-70 = 2^-140 each (subnormal in float32): a backend that flushes gives 0
    const g = new GraphBuilder('ftz');
    const y = g.matmul(g.input('a', [1, 4]), g.input('b', [4, 1]));
    const tiny = 2 ** -70;
    const ref = evaluate(g.build({ y }), { a: new Float32Array(4).fill(tiny), b: new Float32Array(4).fill(tiny) }).y;
    expect(ref.value[0]).toBe(2 ** -138);
    expect(Math.abs(0 - ref.value[0])).toBeLessThanOrEqual(ref.bound[0]);
  });
});

describe('bounds of non-finite values', () => {
  test('a non-finite output has bound 0 and a later finite output keeps a finite bound', () => {
    const g = new GraphBuilder('inf');
    const x = g.input('x', [1, 2]);
    const w = g.constant('w', new Tensor([2, 1], [1, 1]));
    const h = g.matmul(x, w, { name: 'h' });
    const y = g.relu(h, { name: 'y' });
    const graph = g.build({ h, y });
    const out = evaluate(graph, { x: new Float32Array([-Infinity, 1]) });
    expect(out.h.value[0]).toBe(-Infinity);
    expect(out.h.bound[0]).toBe(0);
    expect(out.y.value[0]).toBe(0);
    expect(out.y.bound[0]).toBe(0);
  });
});

describe('flushed subnormal operands', () => {
  test('a product with a subnormal operand is carried in full, since a device may flush the operand to zero', () => {
    const acc = new DotAccumulator();
    acc.add(-10, 0, -1e-38, 0);
    expect(acc.value).toBeCloseTo(1e-37, 50);
    // Flushing -1e-38 gives 0: the bound must cover the whole product.
    expect(acc.bound(1)).toBeGreaterThanOrEqual(Math.abs(acc.value - 0));
  });
});

describe('subnormal results', () => {
  test('a subnormal result may be flushed to zero: its bound is at least its magnitude', () => {
    const g = new GraphBuilder('sub');
    const x = g.input('x', [3]);
    const y = g.relu(x, { name: 'y' });
    const out = evaluate(g.build({ y }), { x: new Float32Array([5.365961380872807e-39, 1, -1e-39]) }).y;
    expect(out.bound[0]).toBe(Math.fround(5.365961380872807e-39));
    expect(out.bound[1]).toBe(0);
    expect(out.value[2]).toBe(0);
  });
});
