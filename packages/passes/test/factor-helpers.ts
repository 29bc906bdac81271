import { Tensor, opSpec, refTensor, type Graph, type RefTensor } from '@tessera/core';

/** A filter [k1, k2, c, s] = G x_3 A x_4 B (ranks r1, r2) plus uniform noise of the given amplitude. */
export function lowRankFilter(shape: [number, number, number, number], ranks: [number, number], noise: number, rand: () => number): Tensor {
  const [k1, k2, c, s] = shape;
  const [r1, r2] = ranks;
  const u = () => rand() * 2 - 1;
  const g = Array.from({ length: k1 * k2 * r1 * r2 }, u);
  const a = Array.from({ length: c * r1 }, u);
  const b = Array.from({ length: s * r2 }, u);
  const out = new Float32Array(k1 * k2 * c * s);
  for (let p = 0; p < k1 * k2; p++)
    for (let ci = 0; ci < c; ci++)
      for (let o = 0; o < s; o++) {
        let acc = 0;
        for (let i = 0; i < r1; i++) for (let j = 0; j < r2; j++) acc += g[(p * r1 + i) * r2 + j] * a[ci * r1 + i] * b[o * r2 + j];
        out[(p * c + ci) * s + o] = acc / Math.sqrt(r1 * r2 * c) + noise * u();
      }
  return new Tensor(shape, out);
}

/** conv(x, f) in the float64 reference, with arbitrary float64 operands (no float32 rounding of |E|). */
export function convRef(x: Float64Array, xShape: readonly number[], f: Float64Array, fShape: readonly number[], attrs: Record<string, unknown>): Float64Array {
  const spec = opSpec('conv2d');
  const parsed = spec.attrs.parse(attrs);
  const shape = spec.inferShape([xShape, fShape], parsed);
  const r: RefTensor = spec.reference([refTensor(xShape, x), refTensor(fShape, f)], parsed, shape);
  return r.value;
}

/** The (only) conv-like node of a single-conv graph. */
export function theConv(g: Graph) {
  const n = g.nodes.find((m) => m.op === 'conv2d' || m.op === 'fused_conv2d');
  if (!n) throw new Error('no conv');
  return n;
}
