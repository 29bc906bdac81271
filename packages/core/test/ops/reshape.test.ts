import { describe, expect, test } from 'vitest';
import { GraphBuilder, type Shape } from '../../src/index.js';
import { reference } from './reference.js';


function shapeOf(input: Shape, shape: number[], name = 'r'): Shape {
  const g = new GraphBuilder('shape');
  return g.reshape(g.input('x', input), shape, { name }).shape;
}

describe('reshape', () => {
  test('14x14x64 -> 12544 (= 14 * 14 * 64), with the count or with -1', () => {
    expect(shapeOf([1, 14, 14, 64], [1, 12544])).toEqual([1, 12544]);
    expect(shapeOf([1, 14, 14, 64], [1, -1])).toEqual([1, 12544]);
    expect(shapeOf([14, 14, 64], [-1])).toEqual([12544]);
    expect(shapeOf([2, 14, 14, 64], [-1, 12544])).toEqual([2, 12544]);
  });

  test('row-major and no data movement: values keep their order, bounds too', () => {
    const y = reference('reshape', [[[2, 3], [1, 2, 3, 4, 5, 6]]], { shape: [3, -1] });
    expect(y.shape).toEqual([3, 2]);
    expect(Array.from(y.value)).toEqual([1, 2, 3, 4, 5, 6]);
    const z = reference('reshape', [[[2, 2], [NaN, Infinity, -Infinity, 0]]], { shape: [4] });
    expect(Array.from(z.value)).toEqual([NaN, Infinity, -Infinity, 0]);
  });

  test('rejections: count mismatch, -1 that does not divide, two -1, a zero dimension', () => {
    expect(() => shapeOf([1, 14, 14, 64], [1, 12545])).toThrow(/node 'r' \(reshape\): cannot reshape \[1,14,14,64\] \(12544 elements\) to \[1,12545\] \(12545 elements\)/);
    expect(() => shapeOf([2, 6], [-1, 5])).toThrow(/node 'r' \(reshape\): .*12 is not a multiple of 5/);
    expect(() => shapeOf([2, 6], [-1, -1])).toThrow(/node 'r' \(reshape\): shape \[-1,-1\] has more than one -1/);
    expect(() => shapeOf([2, 6], [0, -1])).toThrow(/node 'r' \(reshape\): shape \[0,-1\] has a zero dimension/);
    expect(() => shapeOf([2, 6], [-2, -6])).toThrow(/node 'r' \(reshape\): invalid attributes/);
  });
});
