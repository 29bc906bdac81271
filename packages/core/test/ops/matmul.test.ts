import { describe, expect, test } from 'vitest';
import { GraphBuilder, Tensor, summarize, type Shape } from '../../src/index.js';
import { reference } from './reference.js';


function shapeOf(a: Shape, b: Shape, attrs: Record<string, unknown> = {}): Shape {
  const g = new GraphBuilder('shape');
  return g.matmul(g.input('a', a), g.input('b', b), { name: 'mm', ...attrs }).shape;
}

// a = [[1, 2, 3], [4, 5, 6]], b = [[7, 8], [9, 10], [11, 12]]: a b = [[58, 64], [139, 154]]
const A = [1, 2, 3, 4, 5, 6];
const B = [7, 8, 9, 10, 11, 12];
const AB = [58, 64, 139, 154];

describe('matmul', () => {
  test('rank 2: [M,K] x [K,N] -> [M,N], row by column', () => {
    const y = reference('matmul', [[[2, 3], A], [[3, 2], B]], {});
    expect(y.shape).toEqual([2, 2]);
    expect(Array.from(y.value)).toEqual(AB);
  });

  test('transposeA / transposeB transpose the stored operand before the product', () => {
    // a stored transposed: [3, 2] holding a^T; b stored transposed: [2, 3] holding b^T
    const aT = [1, 4, 2, 5, 3, 6];
    const bT = [7, 9, 11, 8, 10, 12];
    expect(Array.from(reference('matmul', [[[3, 2], aT], [[3, 2], B]], { transposeA: true }).value)).toEqual(AB);
    expect(Array.from(reference('matmul', [[[2, 3], A], [[2, 3], bT]], { transposeB: true }).value)).toEqual(AB);
    expect(Array.from(reference('matmul', [[[3, 2], aT], [[2, 3], bT]], { transposeA: true, transposeB: true }).value)).toEqual(AB);
  });

  test('rank 3: one product per batch; a rank-2 b is shared by every batch', () => {
    const a = [...A, ...A.map((v) => -v)];
    const batched = reference('matmul', [[[2, 2, 3], a], [[2, 3, 2], [...B, ...B.map((v) => 2 * v)]]], {});
    expect(batched.shape).toEqual([2, 2, 2]);
    expect(Array.from(batched.value)).toEqual([...AB, ...AB.map((v) => -2 * v)]);
    const shared = reference('matmul', [[[2, 2, 3], a], [[3, 2], B]], {});
    expect(shared.shape).toEqual([2, 2, 2]);
    expect(Array.from(shared.value)).toEqual([...AB, ...AB.map((v) => -v)]);
  });

  test('a fully connected layer: [1, 12544] x [12544, 10] gives 10 scores with 125440 weights', () => {
    const g = new GraphBuilder('fc');
    const x = g.input('features', [1, 12544]);
    const w = g.constant('w', new Tensor([12544, 10]));
    const b = g.constant('b', new Tensor([10]));
    const y = g.biasAdd(g.matmul(x, w, { name: 'fc' }), b, { name: 'fc/bias' });
    expect(y.shape).toEqual([1, 10]);
    const s = summarize(g.build({ y }));
    expect(s.rows.map((r) => r.params)).toEqual([12544 * 10, 10]);
    expect(s.rows[0].macs).toBe(12544 * 10);
  });

  test('the bound of each output is 2 (K + 2) u sum|a b| + (K + 2) 2^-126', () => {
    const y = reference('matmul', [[[2, 3], A], [[3, 2], B]], {});
    const k = 3;
    expect(y.bound[0]).toBe(2 * (k + 2) * 2 ** -24 * 58 + (k + 2) * 2 ** -126);
  });

  test('non-finite values: 0 x Inf = NaN, Inf - Inf = NaN, NaN spreads along its row / column', () => {
    const y = reference('matmul', [[[2, 2], [Infinity, 0, 1, NaN]], [[2, 2], [0, 1, -Infinity, 1]]], {});
    // row 0: [Inf*0 + 0*(-Inf), Inf*1 + 0*1] = [NaN, Inf]; row 1: NaN in a reaches both columns
    expect(Array.from(y.value)).toEqual([NaN, Infinity, NaN, NaN]);
  });

  test('rejections name the node: inner dimensions, batch dimensions, ranks', () => {
    expect(() => shapeOf([3, 4], [5, 6])).toThrow(/node 'mm' \(matmul\): inner dimensions differ: a \[3,4\] has 4 columns, b \[5,6\] has 5 rows/);
    expect(() => shapeOf([3, 4], [3, 4], { transposeB: false })).toThrow(/has 4 columns, b \[3,4\] has 3 rows/);
    expect(shapeOf([3, 4], [5, 4], { transposeB: true })).toEqual([3, 5]);
    expect(() => shapeOf([2, 3, 4], [3, 4, 5])).toThrow(/node 'mm' \(matmul\): batch dimensions differ: a \[2,3,4\], b \[3,4,5\]/);
    // stricter than tf.matMul's broadcasting: a rank-2 a with a rank-3 b, and a batch of 1 against 2
    expect(() => shapeOf([3, 4], [2, 4, 5])).toThrow(/b must have rank 2/);
    expect(() => shapeOf([2, 3, 4], [1, 4, 5])).toThrow(/batch dimensions differ/);
    expect(() => shapeOf([1, 2, 3, 4], [4, 5])).toThrow(/a must have rank 2 or 3/);
  });
});
