/**
 * Broadcasting binary kernels (add, mul) over a flat range [start, end) of output elements, so a
 * worker pool can split them anywhere. The geometry is the output's axes coalesced: adjacent axes
 * merged wherever both operands read them as one (a residual add of equal shapes is one axis of
 * stride 1 on both sides; NHWC times a [C] scale is [N*H*W, C] with strides [C, 1] and [0, 1]).
 */
import { broadcastStrides, type Shape } from '@tessera/core';

export interface BroadcastGeometry {
  /** Coalesced output dimensions, outermost first (at least one). */
  readonly dims: readonly number[];
  /** Element strides of a and b per coalesced dimension (0: broadcast along it). */
  readonly aStrides: readonly number[];
  readonly bStrides: readonly number[];
}

/** The coalesced geometry of `a` and `b` broadcast to `out` (shapes already checked by core). */
export function broadcastGeometry(a: Shape, b: Shape, out: Shape): BroadcastGeometry {
  const sa = broadcastStrides(a, out);
  const sb = broadcastStrides(b, out);
  const dims: number[] = [];
  const aStrides: number[] = [];
  const bStrides: number[] = [];
  for (let k = 0; k < out.length; k++) {
    if (out[k] === 1) continue;
    const last = dims.length - 1;
    // Axis k continues the previous one when each operand reads across them in one stride.
    if (last >= 0 && aStrides[last] === sa[k] * out[k] && bStrides[last] === sb[k] * out[k]) {
      dims[last] *= out[k];
      aStrides[last] = sa[k];
      bStrides[last] = sb[k];
    } else {
      dims.push(out[k]);
      aStrides.push(sa[k]);
      bStrides.push(sb[k]);
    }
  }
  if (dims.length === 0) return { dims: [1], aStrides: [0], bStrides: [0] };
  return { dims, aStrides, bStrides };
}

export type BinaryOp = 'add' | 'mul';

/**
 * y[yOff + i] = a[...] op b[...] for output elements i in [start, end), each operand read as
 * broadcast by `g`. One float32 rounding per element (the sum or product of two float32 values
 * in double, rounded once on the store). y must not overlap a or b.
 */
export function binaryBroadcast(
  op: BinaryOp, g: BroadcastGeometry,
  a: Float32Array, aOff: number, b: Float32Array, bOff: number, y: Float32Array, yOff: number,
  start: number, end: number,
): void {
  const { dims, aStrides, bStrides } = g;
  const last = dims.length - 1;
  const inner = dims[last];
  const ia = aStrides[last];
  const ib = bStrides[last];
  const mul = op === 'mul';
  let i = start;
  while (i < end) {
    // Where element i reads a and b: decompose it over the coalesced dimensions.
    const j = i % inner;
    let rest = (i - j) / inner;
    let pa = aOff + j * ia;
    let pb = bOff + j * ib;
    for (let k = last - 1; k >= 0 && rest > 0; k--) {
      const d = dims[k];
      const idx = rest % d;
      rest = (rest - idx) / d;
      pa += idx * aStrides[k];
      pb += idx * bStrides[k];
    }
    const n = Math.min(inner - j, end - i);
    const py = yOff + i;
    if (ia === 1 && ib === 1) {
      if (mul) for (let t = 0; t < n; t++) y[py + t] = a[pa + t] * b[pb + t];
      else for (let t = 0; t < n; t++) y[py + t] = a[pa + t] + b[pb + t];
    } else if (ia === 1 && ib === 0) {
      const v = b[pb];
      if (mul) for (let t = 0; t < n; t++) y[py + t] = a[pa + t] * v;
      else for (let t = 0; t < n; t++) y[py + t] = a[pa + t] + v;
    } else if (ia === 0 && ib === 1) {
      const v = a[pa];
      if (mul) for (let t = 0; t < n; t++) y[py + t] = v * b[pb + t];
      else for (let t = 0; t < n; t++) y[py + t] = v + b[pb + t];
    } else {
      if (mul) for (let t = 0; t < n; t++) y[py + t] = a[pa + t * ia] * b[pb + t * ib];
      else for (let t = 0; t < n; t++) y[py + t] = a[pa + t * ia] + b[pb + t * ib];
    }
    i += n;
  }
}
