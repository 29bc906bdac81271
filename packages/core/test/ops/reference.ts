import { OPS, exactRef, type RefTensor, type Shape } from '../../src/index.js';

/** Runs an op's float64 reference on float32 inputs (attributes parsed as the builder does). */
export function reference(op: keyof typeof OPS, operands: [Shape, ArrayLike<number>][], attrs: Record<string, unknown>): RefTensor {
  const spec = OPS[op] as unknown as {
    attrs: { parse(a: unknown): unknown };
    inferShape(s: readonly Shape[], a: unknown): Shape;
    reference(i: RefTensor[], a: unknown, out: Shape): RefTensor;
  };
  const parsed = spec.attrs.parse(attrs);
  const out = spec.inferShape(operands.map(([s]) => s), parsed);
  return spec.reference(operands.map(([s, d]) => exactRef(s, Float32Array.from(d))), parsed, out);
}
