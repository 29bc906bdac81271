import { describe, expect, test } from 'vitest';
import { OPS, exactRef, type RefTensor, type Shape } from '../../src/index.js';

/** Runs an op's float64 reference on float32 inputs (attributes parsed as the builder does). */
function reference(op: keyof typeof OPS, operands: [Shape, ArrayLike<number>][], attrs: Record<string, unknown>): RefTensor {
  const spec = OPS[op] as unknown as {
    attrs: { parse(a: unknown): unknown };
    inferShape(s: readonly Shape[], a: unknown): Shape;
    reference(i: RefTensor[], a: unknown, out: Shape): RefTensor;
  };
  const parsed = spec.attrs.parse(attrs);
  const out = spec.inferShape(operands.map(([s]) => s), parsed);
  return spec.reference(operands.map(([s, d]) => exactRef(s, Float32Array.from(d))), parsed, out);
}

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
