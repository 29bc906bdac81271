import { describe, expect, test } from 'vitest';
import { GraphBuilder } from '../../src/index.js';
import { reference } from './reference.js';


const u = 2 ** -24;
const tiny = 2 ** -126;

describe('bias_add', () => {
  test('adds bias[c] to every element of channel c (the last dimension), any rank', () => {
    const y = reference('bias_add', [[[2, 1, 3], [1, 2, 3, 4, 5, 6]], [[3], [10, 20, 30]]], {});
    expect(y.shape).toEqual([2, 1, 3]);
    expect(Array.from(y.value)).toEqual([11, 22, 33, 14, 25, 36]);
    const z = reference('bias_add', [[[2], [1, 2]], [[2], [0.5, -0.5]]], {});
    expect(Array.from(z.value)).toEqual([1.5, 1.5]);
  });

  test('the bound of each output is 2u (|x| + |b|) + 2^-126: one float32 rounding', () => {
    const y = reference('bias_add', [[[1, 2], [3, -8]], [[2], [-1, 0.5]]], {});
    expect(Array.from(y.bound)).toEqual([2 * u * 4 + tiny, 2 * u * 8.5 + tiny]);
  });

  test('non-finite values: Inf + (-Inf) = NaN, NaN + b = NaN, Inf + finite = Inf', () => {
    const y = reference('bias_add', [[[4], [Infinity, NaN, -Infinity, 1]], [[4], [-Infinity, 1, 5, -Infinity]]], {});
    expect(Array.from(y.value)).toEqual([NaN, NaN, -Infinity, -Infinity]);
  });

  test('rejections: bias length different from the channel count, bias not rank 1, scalar value', () => {
    const g = new GraphBuilder('b');
    const x = g.input('x', [1, 4, 4, 7]);
    expect(() => g.biasAdd(x, g.input('b6', [6]), { name: 'ba' })).toThrow(/node 'ba' \(bias_add\): bias \[6\] must match the channel dimension 7/);
    expect(() => g.biasAdd(x, g.input('b2', [1, 7]), { name: 'bb' })).toThrow(/node 'bb' \(bias_add\): bias must have rank 1, got \[1,7\]/);
    expect(() => g.biasAdd(g.input('s', []), g.input('b1', [1]), { name: 'bc' })).toThrow(/node 'bc' \(bias_add\): value \[\] must have a channel dimension/);
  });
});
