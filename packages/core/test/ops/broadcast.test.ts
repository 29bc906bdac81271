import { describe, expect, test } from 'vitest';
import { GraphBuilder, OPS, broadcastShapes, broadcastStrides, refTensor } from '../../src/index.js';
import { reference } from './reference.js';

const u = 2 ** -24;
const tiny = 2 ** -126;

describe('broadcasting (add, mul)', () => {
  test('shapes align on their last dimensions; each pair equal or one of them 1; the output takes the larger', () => {
    expect(broadcastShapes([4, 1, 3], [5, 1])).toEqual([4, 5, 3]);
    expect(broadcastShapes([2, 3], [3])).toEqual([2, 3]);
    expect(broadcastShapes([], [2, 2])).toEqual([2, 2]);
    expect(broadcastShapes([1], [])).toEqual([1]);
    expect(broadcastShapes([1, 7, 7, 64], [1, 7, 7, 64])).toEqual([1, 7, 7, 64]);
    expect(broadcastShapes([1, 1, 1, 8], [2, 5, 5, 1])).toEqual([2, 5, 5, 8]);
    expect(() => broadcastShapes([2, 3], [4])).toThrow('a [2,3] and b [4] cannot be broadcast: dimension 3 against 4 at axis -1');
    expect(() => broadcastShapes([2, 3, 4], [5, 1, 4])).toThrow(/dimension 2 against 5 at axis -3/);
  });

  test('strides of an operand read as broadcast: 0 on missing or size-1 axes', () => {
    expect(broadcastStrides([3], [2, 3])).toEqual([0, 1]);
    expect(broadcastStrides([4, 1, 3], [4, 5, 3])).toEqual([3, 0, 1]);
    expect(broadcastStrides([], [2, 2])).toEqual([0, 0]);
    expect(broadcastStrides([2, 1], [2, 3])).toEqual([1, 0]);
  });

  test('the builder rejects incompatible shapes at the call, naming node and op', () => {
    const g = new GraphBuilder('b');
    const x = g.input('x', [1, 4, 4, 8]);
    expect(() => g.add(x, g.input('c', [4]), { name: 'res' })).toThrow(/^node 'res' \(add\): a \[1,4,4,8\] and b \[4\] cannot be broadcast: dimension 8 against 4 at axis -1/);
    expect(() => g.mul(g.input('d', [3, 1]), x, { name: 'scale' })).toThrow(/node 'scale' \(mul\): .*dimension 3 against 4 at axis -2/);
    expect(g.mul(x, g.input('s', [8])).shape).toEqual([1, 4, 4, 8]);
    expect(g.add(g.input('t', [4, 1]), x).shape).toEqual([1, 4, 4, 8]);
  });
});

describe('add', () => {
  test('a + b element by element, broadcasting either operand', () => {
    const y = reference('add', [[[2, 3], [1, 2, 3, 4, 5, 6]], [[3], [10, 20, 30]]], {});
    expect(y.shape).toEqual([2, 3]);
    expect(Array.from(y.value)).toEqual([11, 22, 33, 14, 25, 36]);
    // a column against a row: [2,1] + [1,3] = [2,3]
    const z = reference('add', [[[2, 1], [1, 2]], [[1, 3], [10, 20, 30]]], {});
    expect(z.shape).toEqual([2, 3]);
    expect(Array.from(z.value)).toEqual([11, 21, 31, 12, 22, 32]);
    // operand 0 broadcast: [3] + [2,3]
    const w = reference('add', [[[3], [1, 2, 3]], [[2, 3], [0, 0, 0, 10, 10, 10]]], {});
    expect(Array.from(w.value)).toEqual([1, 2, 3, 11, 12, 13]);
    // a scalar
    expect(Array.from(reference('add', [[[], [5]], [[2], [1, 2]]], {}).value)).toEqual([6, 7]);
  });

  test('bound: the operands\' bounds plus one rounding, 2u (|a| + |b|) + 3 TINY', () => {
    const y = reference('add', [[[2], [3, -8]], [[2], [-1, 0.5]]], {});
    expect(Array.from(y.bound)).toEqual([2 * u * 4 + 3 * tiny, 2 * u * 8.5 + 3 * tiny]);
    const a = refTensor([1], Float64Array.of(1), Float64Array.of(0.25));
    const b = refTensor([2], Float64Array.of(2, 3), Float64Array.of(0.5, 0));
    const s = OPS.add.reference([a, b], {}, [2]);
    expect(Array.from(s.bound)).toEqual([0.75 + 2 * u * 3 + 3 * tiny, 0.25 + 2 * u * 4 + 3 * tiny]);
  });

  test('non-finite values: Inf + (-Inf) = NaN, NaN propagates, Inf + finite = Inf; non-finite results have bound 0', () => {
    const y = reference('add', [[[4], [Infinity, NaN, -Infinity, 1]], [[4], [-Infinity, 1, 5, 2]]], {});
    expect(Array.from(y.value)).toEqual([NaN, NaN, -Infinity, 3]);
    expect(Array.from(y.bound.slice(0, 3))).toEqual([0, 0, 0]);
  });

  test('zeros come from a sum: their sign is not specified', () => {
    expect(reference('add', [[[1], [-0]], [[1], [-0]]], {}).zeroSign).toBeUndefined();
  });

  test('cost 0 MACs; not element-wise (a broadcast operand 0 cannot be overwritten in place)', () => {
    expect(OPS.add.cost([[2, 3], [3]], [2, 3], {})).toEqual({ macs: 0 });
    expect((OPS.add as { elementwise?: boolean }).elementwise).toBeUndefined();
  });
});

describe('mul', () => {
  test('a * b element by element, broadcasting', () => {
    const y = reference('mul', [[[2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]], [[2], [10, -1]]], {});
    expect(y.shape).toEqual([2, 2, 2]);
    expect(Array.from(y.value)).toEqual([10, -2, 30, -4, 50, -6, 70, -8]);
    const z = reference('mul', [[[2, 1, 1], [2, 3]], [[1, 2], [1, 10]]], {});
    expect(z.shape).toEqual([2, 1, 2]);
    expect(Array.from(z.value)).toEqual([2, 20, 3, 30]);
  });

  test('bound: one rounding of the product, 2u |ab| + 3 TINY, with the operands\' errors carried', () => {
    const y = reference('mul', [[[2], [3, -8]], [[2], [-1, 0.5]]], {});
    expect(Array.from(y.bound)).toEqual([2 * u * 3 + 3 * tiny, 2 * u * 4 + 3 * tiny]);
    const a = refTensor([1], Float64Array.of(2), Float64Array.of(0.25));
    const b = refTensor([1], Float64Array.of(3), Float64Array.of(0.5));
    const p = OPS.mul.reference([a, b], {}, [1]);
    expect(p.bound[0]).toBe(0.25 * 3 + 2 * 0.5 + 0.25 * 0.5 + 2 * u * 6 + 3 * tiny);
  });

  test('a subnormal operand may be flushed to zero: the whole product is in the bound', () => {
    const s = 2 ** -130;
    const y = reference('mul', [[[1], [s]], [[1], [2 ** 100]]], {});
    expect(y.value[0]).toBe(2 ** -30);
    expect(y.bound[0]).toBeGreaterThanOrEqual(2 ** -30);
  });

  test('non-finite values: 0 * Inf = NaN, Inf * -2 = -Inf, NaN propagates; bound 0 there', () => {
    const y = reference('mul', [[[4], [0, Infinity, NaN, 3]], [[4], [Infinity, -2, 1, 2]]], {});
    expect(Array.from(y.value)).toEqual([NaN, -Infinity, NaN, 6]);
    expect(Array.from(y.bound.slice(0, 3))).toEqual([0, 0, 0]);
    expect(y.zeroSign).toBeUndefined();
  });
});

describe('relu6', () => {
  test('min(max(x, 0), 6), shape unchanged, NaN kept, every zero +0 and specified, the bound passed through', () => {
    const y = reference('relu6', [[[2, 4], [-3, -0, 0, 0.5, 6, 6.5, 1e30, -1e30]]], {});
    expect(y.shape).toEqual([2, 4]);
    expect(Array.from(y.value)).toEqual([0, 0, 0, 0.5, 6, 6, 6, 0]);
    expect(Object.is(y.value[1], 0)).toBe(true);
    expect(Array.from(y.zeroSign!)).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    const z = reference('relu6', [[[3], [NaN, Infinity, -Infinity]]], {});
    expect(z.value[0]).toBeNaN();
    expect(Array.from(z.value.slice(1))).toEqual([6, 0]);
    const x = refTensor([3], Float64Array.of(-1, 2, 7), Float64Array.of(0.1, 0.2, 0.3));
    expect(Array.from(OPS.relu6.reference([x], {}, [3]).bound)).toEqual([0.1, 0.2, 0.3]);
    expect(OPS.relu6.elementwise).toBe(true);
  });
});
