import { describe, expect, test } from 'vitest';
import { OPS, type RefTensor } from '../../src/index.js';
import { reference } from './reference.js';


describe('relu', () => {
  test('relu(x) = max(x, 0), shape unchanged', () => {
    const y = reference('relu', [[[2, 3], [-3, -0.5, 0, 0.5, 3, -1e30]]], {});
    expect(y.shape).toEqual([2, 3]);
    expect(Array.from(y.value)).toEqual([0, 0, 0, 0.5, 3, 0]);
  });

  test('non-finite values: relu(NaN) = NaN, relu(+Inf) = +Inf, relu(-Inf) = 0; relu(-0) is +0', () => {
    const y = reference('relu', [[[4], [NaN, Infinity, -Infinity, -0]]], {});
    expect(y.value[0]).toBeNaN();
    expect(y.value[1]).toBe(Infinity);
    expect(y.value[2]).toBe(0);
    expect(Object.is(y.value[3], 0)).toBe(true);
  });

  test('the bound passes through unchanged (relu is 1-Lipschitz and exact)', () => {
    const x: RefTensor = { shape: [3], value: Float64Array.from([-1, 2, 0]), bound: Float64Array.from([0.1, 0.2, 0.3]) };
    const y = OPS.relu.reference([x], OPS.relu.attrs.parse({}), [3]);
    expect(Array.from(y.bound)).toEqual([0.1, 0.2, 0.3]);
  });
});
