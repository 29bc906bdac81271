import { broadcastShapes } from '@tessera/core';
import type { OnnxTensor } from '../tensors.js';

/*
 * Constant folding at import: shape arithmetic (Shape, Gather, Unsqueeze, Concat, ...) and
 * element-wise ops on constants. Float results are rounded to float32 once, as a float32 engine
 * rounds each of these single operations.
 */

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  for (let i = shape.length - 1, k = 1; i >= 0; i--) {
    s[i] = k;
    k *= shape[i];
  }
  return s;
}

/** Element-wise `fn` with NumPy broadcasting. */
export function foldBinary(a: OnnxTensor, b: OnnxTensor, fn: (x: number, y: number) => number): OnnxTensor {
  const shape = broadcastShapes(a.shape, b.shape);
  const n = shape.reduce((x, y) => x * y, 1);
  const kind = a.kind === 'float' || b.kind === 'float' ? 'float' : 'int';
  const data = kind === 'float' ? new Float32Array(n) : new Float64Array(n);
  const outStrides = stridesOf(shape);
  const strideIn = (t: OnnxTensor): number[] => {
    const s = stridesOf(t.shape);
    const lead = shape.length - t.shape.length;
    return shape.map((_, i) => (i < lead || t.shape[i - lead] === 1 ? 0 : s[i - lead]));
  };
  const sa = strideIn(a);
  const sb = strideIn(b);
  for (let o = 0; o < n; o++) {
    let ia = 0;
    let ib = 0;
    let rest = o;
    for (let d = 0; d < shape.length; d++) {
      const idx = Math.floor(rest / outStrides[d]);
      rest -= idx * outStrides[d];
      ia += idx * sa[d];
      ib += idx * sb[d];
    }
    const v = fn(a.data[ia], b.data[ib]);
    data[o] = kind === 'int' ? Math.trunc(v) : v;
  }
  return { shape, kind, data };
}

/** Concatenation along `axis` (normalized). */
export function foldConcat(parts: readonly OnnxTensor[], axis: number): OnnxTensor {
  const shape = [...parts[0].shape];
  shape[axis] = parts.reduce((s, p) => s + p.shape[axis], 0);
  const kind = parts.some((p) => p.kind === 'float') ? 'float' : 'int';
  const n = shape.reduce((x, y) => x * y, 1);
  const data = kind === 'float' ? new Float32Array(n) : new Float64Array(n);
  const outer = shape.slice(0, axis).reduce((x, y) => x * y, 1);
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const p of parts) {
      const inner = p.shape.slice(axis).reduce((x, y) => x * y, 1);
      for (let k = 0; k < inner; k++) data[o++] = p.data[i * inner + k];
    }
  }
  return { shape, kind, data };
}

/** numpy.take(data, indices, axis). */
export function foldGather(data: OnnxTensor, indices: OnnxTensor, axis: number): OnnxTensor {
  const dim = data.shape[axis];
  const outer = data.shape.slice(0, axis).reduce((x, y) => x * y, 1);
  const inner = data.shape.slice(axis + 1).reduce((x, y) => x * y, 1);
  const shape = [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)];
  const out = new (data.data.constructor as new (n: number) => Float32Array | Float64Array)(outer * indices.data.length * inner);
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const raw of indices.data) {
      const j = raw < 0 ? raw + dim : raw;
      if (j < 0 || j >= dim) throw new Error(`index ${raw} is out of range for a dimension of ${dim}`);
      for (let k = 0; k < inner; k++) out[o++] = data.data[(i * dim + j) * inner + k];
    }
  }
  return { shape, kind: data.kind, data: out };
}

/** Strided slice (positive steps), per axis begin / size / step. */
export function foldSlice(t: OnnxTensor, begin: readonly number[], size: readonly number[], step: readonly number[]): OnnxTensor {
  const n = size.reduce((x, y) => x * y, 1);
  const out = new (t.data.constructor as new (n: number) => Float32Array | Float64Array)(n);
  const inStrides = stridesOf(t.shape);
  const outStrides = stridesOf(size);
  for (let o = 0; o < n; o++) {
    let src = 0;
    let rest = o;
    for (let d = 0; d < size.length; d++) {
      const idx = Math.floor(rest / outStrides[d]);
      rest -= idx * outStrides[d];
      src += (begin[d] + idx * step[d]) * inStrides[d];
    }
    out[o] = t.data[src];
  }
  return { shape: [...size], kind: t.kind, data: out };
}

/** The same data with another shape. */
export function reshaped(t: OnnxTensor, shape: readonly number[]): OnnxTensor {
  return { shape: [...shape], kind: t.kind, data: t.data };
}
