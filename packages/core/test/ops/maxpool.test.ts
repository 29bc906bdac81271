import { describe, expect, test } from 'vitest';
import { GraphBuilder, OPS, type RefTensor, type Shape } from '../../src/index.js';
import { reference } from './reference.js';


function shapeOf(input: Shape, attrs: Record<string, unknown>): Shape {
  const g = new GraphBuilder('shape');
  return g.maxpool(g.input('x', input), attrs as never).shape;
}

describe('maxpool', () => {
  test('2x2 / stride 2 takes 28x28x64 to 14x14x64 (VALID and SAME alike)', () => {
    expect(shapeOf([1, 28, 28, 64], { ksize: [2, 2], strides: [2, 2], padding: 'VALID' })).toEqual([1, 14, 14, 64]);
    expect(shapeOf([1, 28, 28, 64], { ksize: [2, 2], strides: [2, 2], padding: 'SAME' })).toEqual([1, 14, 14, 64]);
  });

  test('same window geometry as conv2d: 5x5, 3x3 / 2 gives 3x3 SAME and 2x2 VALID; 7x7, 2x2 / 3 gives 3x3 SAME and 2x2 VALID', () => {
    expect(shapeOf([1, 5, 5, 1], { ksize: [3, 3], strides: [2, 2], padding: 'SAME' })).toEqual([1, 3, 3, 1]);
    expect(shapeOf([1, 5, 5, 1], { ksize: [3, 3], strides: [2, 2], padding: 'VALID' })).toEqual([1, 2, 2, 1]);
    expect(shapeOf([1, 7, 7, 1], { ksize: [2, 2], strides: [3, 3], padding: 'SAME' })).toEqual([1, 3, 3, 1]);
    expect(shapeOf([1, 7, 7, 1], { ksize: [2, 2], strides: [3, 3], padding: 'VALID' })).toEqual([1, 2, 2, 1]);
  });

  test('takes the maximum of each window, per channel', () => {
    // 1x2x2x2: channel 0 = [1, 5, 3, 2], channel 1 = [-1, -5, -3, -2]
    const y = reference('maxpool', [[[1, 2, 2, 2], [1, -1, 5, -5, 3, -3, 2, -2]]], { ksize: [2, 2], strides: [1, 1], padding: 'VALID' });
    expect(y.shape).toEqual([1, 1, 1, 2]);
    expect(Array.from(y.value)).toEqual([5, -1]);
  });

  test('a stride larger than the window skips pixels: 1x1 / 3 on 5x5 keeps (0,0), (0,3), (3,0), (3,3)', () => {
    const x = Array.from({ length: 25 }, (_, i) => i);
    const y = reference('maxpool', [[[1, 5, 5, 1], x]], { ksize: [1, 1], strides: [3, 3], padding: 'VALID' });
    expect(Array.from(y.value)).toEqual([0, 3, 15, 18]);
  });

  test('SAME padded cells never win (they are -Inf, not 0): an all-negative input stays negative', () => {
    // 2x2 window, stride 1, SAME on 2x2: one padded row / column after.
    const y = reference('maxpool', [[[1, 2, 2, 1], [-1, -2, -3, -4]]], { ksize: [2, 2], strides: [1, 1], padding: 'SAME' });
    expect(Array.from(y.value)).toEqual([-1, -2, -3, -4]);
    const z = reference('maxpool', [[[1, 1, 2, 1], [-Infinity, -Infinity]]], { ksize: [3, 3], strides: [1, 1], padding: 'SAME' });
    expect(Array.from(z.value)).toEqual([-Infinity, -Infinity]);
  });

  test('a NaN anywhere in a window makes that output NaN, whatever its position; +Inf wins otherwise', () => {
    for (const at of [0, 1, 2, 3]) {
      const x = [1, 2, 3, Infinity];
      x[at] = NaN;
      const y = reference('maxpool', [[[1, 2, 2, 1], x]], { ksize: [2, 2], strides: [1, 1], padding: 'VALID' });
      expect(y.value[0]).toBeNaN();
    }
    const y = reference('maxpool', [[[1, 1, 3, 1], [NaN, 1, Infinity]]], { ksize: [1, 2], strides: [1, 1], padding: 'VALID' });
    expect(Array.from(y.value)).toEqual([NaN, Infinity]);
  });

  test('the bound of an output is the largest bound in its window (max is 1-Lipschitz)', () => {
    const x: RefTensor = { shape: [1, 1, 3, 1], value: Float64Array.from([1, 9, 2]), bound: Float64Array.from([0.5, 0.01, 0.25]) };
    const attrs = OPS.maxpool.attrs.parse({ ksize: [1, 2], strides: [1, 1], padding: 'VALID' });
    const y = OPS.maxpool.reference([x], attrs, [1, 1, 2, 1]);
    expect(Array.from(y.value)).toEqual([9, 9]);
    expect(Array.from(y.bound)).toEqual([0.5, 0.25]);
  });

  test('a max below TINY may be any of the window\'s cells below TINY (a device may flush subnormals as it compares)', () => {
    const s = Math.fround(-1e-38); // subnormals in float32
    const t = Math.fround(5e-39);
    const y = reference('maxpool', [[[1, 1, 4, 1], [s, 0, t, 2]]], { ksize: [1, 2], strides: [1, 1], padding: 'VALID' });
    expect(Array.from(y.value)).toEqual([0, t, 2]);
    // [s, 0]: 0 or s; [0, t]: either; [t, 2]: 2 exactly.
    expect(Array.from(y.bound)).toEqual([-s, 2 * t, 0]);
  });

  test('rejections: a VALID window larger than the input, dilation or explicit padding attributes, rank 3 input', () => {
    expect(() => shapeOf([1, 3, 8, 1], { ksize: [4, 2], strides: [1, 1], padding: 'VALID', name: 'p' })).toThrow(
      /node 'p' \(maxpool\): VALID window of height 4 .* larger than the input height 3/,
    );
    expect(() => shapeOf([1, 8, 8, 1], { ksize: [2, 2], strides: [1, 1], padding: 'VALID', dilations: [2, 2] })).toThrow(/invalid attributes: .*dilations/);
    expect(() => shapeOf([1, 8, 8, 1], { ksize: [2, 2], strides: [1, 1], padding: [[1, 1], [1, 1]] })).toThrow(/invalid attributes: padding/);
    expect(() => shapeOf([8, 8, 1], { ksize: [2, 2], strides: [2, 2], padding: 'VALID' })).toThrow(/input must have rank 4/);
  });
});
