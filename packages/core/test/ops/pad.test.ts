import { describe, expect, test } from 'vitest';
import { GraphBuilder, OPS, refTensor } from '../../src/index.js';
import { reference } from './reference.js';

describe('pad', () => {
  test('constant padding: [before, after] per dimension, zeros by default', () => {
    const y = reference('pad', [[[2, 2], [1, 2, 3, 4]]], { paddings: [[1, 0], [0, 2]] });
    expect(y.shape).toEqual([3, 4]);
    expect(Array.from(y.value)).toEqual([0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0]);
    expect(Array.from(y.bound).every((b) => b === 0)).toBe(true);
  });

  test('NHWC spatial padding with a value; a rank-0 input is unchanged', () => {
    const y = reference('pad', [[[1, 1, 2, 1], [5, 6]]], { paddings: [[0, 0], [1, 1], [0, 1], [0, 0]], value: -1 });
    expect(y.shape).toEqual([1, 3, 3, 1]);
    expect(Array.from(y.value)).toEqual([-1, -1, -1, 5, 6, -1, -1, -1, -1]);
    expect(Array.from(reference('pad', [[[], [7]]], { paddings: [] }).value)).toEqual([7]);
  });

  test('value is rounded to float32; added cells are exact zeros of specified sign, copied cells keep x\'s values, bounds and signs', () => {
    expect(reference('pad', [[[1], [1]]], { paddings: [[0, 1]], value: 0.1 }).value[1]).toBe(Math.fround(0.1));
    const x = { ...refTensor([2], Float64Array.of(-0, 0), Float64Array.of(0.5, 0)), zeroSign: Uint8Array.of(1, 0) };
    const y = OPS.pad.reference([x], OPS.pad.attrs.parse({ paddings: [[1, 1]], value: -0 }), [4]);
    expect(Array.from(y.value, (v) => Object.is(v, -0))).toEqual([true, true, false, true]);
    expect(Array.from(y.bound)).toEqual([0, 0.5, 0, 0]);
    expect(Array.from(y.zeroSign!)).toEqual([1, 1, 0, 1]);
  });

  test('rejections: not one pair per dimension, negative pads, a non-finite or out-of-range value', () => {
    const g = new GraphBuilder('p');
    const x = g.input('x', [1, 4, 4, 3]);
    expect(() => g.pad(x, { paddings: [[1, 1], [1, 1]], name: 'a' })).toThrow(
      "node 'a' (pad): paddings has 2 [before, after] pairs for input [1,4,4,3] of rank 4: one per dimension",
    );
    expect(() => g.pad(x, { paddings: [[0, 0], [-1, 0], [0, 0], [0, 0]], name: 'b' })).toThrow(/node 'b' \(pad\): invalid attributes: paddings.1.0: -1 is out of range/);
    expect(() => g.pad(x, { paddings: [[0, 0], [0, 0], [0, 0], [0, 0]], value: Infinity, name: 'c' })).toThrow(/node 'c' \(pad\): invalid attributes: value/);
    expect(() => g.pad(x, { paddings: [[0, 0], [0, 0], [0, 0], [0, 0]], value: 1e39, name: 'd' })).toThrow(/node 'd' \(pad\): invalid attributes: value/);
    expect(g.pad(x, { paddings: [[0, 0], [1, 2], [3, 0], [0, 0]] }).shape).toEqual([1, 7, 7, 3]);
  });
});
