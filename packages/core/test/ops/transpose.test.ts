import { describe, expect, test } from 'vitest';
import { GraphBuilder, OPS, refTensor } from '../../src/index.js';
import { reference } from './reference.js';

describe('transpose', () => {
  test('a matrix: out[j][i] = x[i][j]; the default perm reverses the axes', () => {
    const y = reference('transpose', [[[2, 3], [1, 2, 3, 4, 5, 6]]], {});
    expect(y.shape).toEqual([3, 2]);
    expect(Array.from(y.value)).toEqual([1, 4, 2, 5, 3, 6]);
    expect(Array.from(y.bound).every((b) => b === 0)).toBe(true);
  });

  test('NHWC -> NCHW of a 1x2x2x3 image: channel planes, written out by hand', () => {
    // x[0][h][w][c] = 100 c + 10 h + w
    const data = [];
    for (let h = 0; h < 2; h++) for (let w = 0; w < 2; w++) for (let c = 0; c < 3; c++) data.push(100 * c + 10 * h + w);
    const y = reference('transpose', [[[1, 2, 2, 3], data]], { perm: [0, 3, 1, 2] });
    expect(y.shape).toEqual([1, 3, 2, 2]);
    expect(Array.from(y.value)).toEqual([0, 1, 10, 11, 100, 101, 110, 111, 200, 201, 210, 211]);
  });

  test('rank 3, perm [1, 2, 0] and the identity; rank 1 is a copy', () => {
    // x[i][j][k] = 100 i + 10 j + k, shape [2,3,2]; y[j][k][i] = x[i][j][k], shape [3,2,2]
    const data = [];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) data.push(100 * i + 10 * j + k);
    const y = reference('transpose', [[[2, 3, 2], data]], { perm: [1, 2, 0] });
    expect(y.shape).toEqual([3, 2, 2]);
    expect(Array.from(y.value)).toEqual([0, 100, 1, 101, 10, 110, 11, 111, 20, 120, 21, 121]);
    expect(Array.from(reference('transpose', [[[2, 3, 2], data]], { perm: [0, 1, 2] }).value)).toEqual(data);
    expect(Array.from(reference('transpose', [[[3], [7, 8, 9]]], {}).value)).toEqual([7, 8, 9]);
  });

  test('bounds, likely bounds and zero signs move with their values', () => {
    const x = {
      ...refTensor([2, 2], Float64Array.of(-0, 1, 2, 0), Float64Array.of(0.5, 0, 0.25, 0)),
      zeroSign: Uint8Array.of(1, 0, 0, 0),
      likely: Float64Array.of(0.1, 0, 0.2, 0),
    };
    const y = OPS.transpose.reference([x], OPS.transpose.attrs.parse({}), [2, 2]);
    expect(Array.from(y.value)).toEqual([-0, 2, 1, 0]);
    expect(Array.from(y.bound)).toEqual([0.5, 0.25, 0, 0]);
    expect(Array.from(y.likely!)).toEqual([0.1, 0.2, 0, 0]);
    expect(Array.from(y.zeroSign!)).toEqual([1, 0, 0, 0]);
  });

  test('rejections at the builder call name node, op and what was expected', () => {
    const g = new GraphBuilder('t');
    const x = g.input('x', [1, 4, 4, 3]);
    expect(() => g.transpose(x, [0, 3, 1], { name: 'a' })).toThrow(
      "node 'a' (transpose): perm [0,3,1] has 3 entries for an input of rank 4: one per axis",
    );
    expect(() => g.transpose(x, [0, 3, 3, 1], { name: 'b' })).toThrow(
      "node 'b' (transpose): perm [0,3,3,1] is not a permutation of 0..3: each axis must appear exactly once",
    );
    expect(() => g.transpose(x, [0, 4, 1, 2], { name: 'c' })).toThrow(/node 'c' \(transpose\): perm \[0,4,1,2\] is not a permutation of 0\.\.3/);
    expect(() => g.transpose(x, [0, -1, 1, 2], { name: 'd' })).toThrow(/node 'd' \(transpose\): invalid attributes: perm/);
    expect(g.transpose(x, [0, 3, 1, 2]).shape).toEqual([1, 3, 4, 4]);
    expect(g.transpose(x).shape).toEqual([3, 4, 4, 1]);
  });

  test('cost: no multiply-accumulates', () => {
    expect(OPS.transpose.cost([[2, 3]], [3, 2], { perm: [1, 0] }).macs).toBe(0);
  });
});
