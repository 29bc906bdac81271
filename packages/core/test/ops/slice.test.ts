import { describe, expect, test } from 'vitest';
import { GraphBuilder } from '../../src/index.js';
import { reference } from './reference.js';


describe('slice', () => {
  test('out[i] = x[begin + i * stride] on every axis, size elements per axis', () => {
    // 1x5x5x2, value = 100 h + 10 w + c; rows 1, 3 and columns 0, 2, 4 (stride 2), all channels
    const x: number[] = [];
    for (let h = 0; h < 5; h++) for (let w = 0; w < 5; w++) for (let c = 0; c < 2; c++) x.push(100 * h + 10 * w + c);
    const y = reference('slice', [[[1, 5, 5, 2], x]], { begin: [0, 1, 0, 0], size: [1, 2, 3, 2], strides: [1, 2, 2, 1] });
    expect(y.shape).toEqual([1, 2, 3, 2]);
    expect(Array.from(y.value)).toEqual([100, 101, 120, 121, 140, 141, 300, 301, 320, 321, 340, 341]);
  });

  test('rejections: wrong number of entries, an index past the end, zero size or stride', () => {
    const g = new GraphBuilder('s');
    const x = g.input('x', [4, 4]);
    expect(() => g.slice(x, { begin: [0], size: [1], strides: [1], name: 'a' })).toThrow(/node 'a' \(slice\): begin, size and strides must each have 2 entries/);
    // rows 1 and 3 (the last one, 1 + (2 - 1) * 2 = 3, is still inside)
    expect(g.slice(x, { begin: [1, 0], size: [2, 4], strides: [2, 1], name: 'b' }).shape).toEqual([2, 4]);
    expect(() => g.slice(x, { begin: [1, 0], size: [3, 4], strides: [2, 1], name: 'c' })).toThrow(/node 'c' \(slice\): axis 0: last index 5 is outside the input dimension 4/);
    expect(() => g.slice(x, { begin: [0, 0], size: [0, 4], strides: [1, 1], name: 'd' })).toThrow(/node 'd' \(slice\): size and strides must be positive on axis 0/);
  });
});
