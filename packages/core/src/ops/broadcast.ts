import { OpError } from '../errors.js';
import { numel, shapeStr, type Shape } from '../shape.js';
import { refTensor } from './numerics.js';
import type { RefTensor } from './spec.js';

/**
 * NumPy broadcasting of two operands (tf.add, tf.multiply): the shapes are aligned on their last
 * dimensions (the shorter one is read as if led by 1s); each aligned pair must be equal or one of
 * them 1, and the output takes the larger. `[4,1,3]` with `[5,1]` gives `[4,5,3]`; `[]` (a
 * scalar) with anything gives the other shape.
 */
export function broadcastShapes(a: Shape, b: Shape): Shape {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 1; i <= rank; i++) {
    const da = a.length - i >= 0 ? a[a.length - i] : 1;
    const db = b.length - i >= 0 ? b[b.length - i] : 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new OpError(
        `a ${shapeStr(a)} and b ${shapeStr(b)} cannot be broadcast: dimension ${da} against ${db} at axis -${i} ` +
          `(aligned from the last dimension, each pair must be equal or one of them 1)`,
      );
    }
    out[rank - i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Row-major element strides of `shape` read as an operand broadcast to `out` (same or lower
 * rank, broadcast-compatible): one entry per axis of `out`, 0 where the operand has no such axis
 * or a 1 there. Element o of the output reads element sum(index_a * stride_a) of the operand.
 */
export function broadcastStrides(shape: Shape, out: Shape): number[] {
  const strides = new Array<number>(out.length).fill(0);
  let acc = 1;
  for (let i = 1; i <= shape.length; i++) {
    const d = shape[shape.length - i];
    if (d !== 1) strides[out.length - i] = acc;
    acc *= d;
  }
  return strides;
}

/**
 * The reference of a broadcasting binary op: `combine(x, bx, y, by)` gives one output's value and
 * bound from its two operand elements. A non-finite value gets bound 0 (it must be matched exactly).
 */
export function broadcastReference(
  a: RefTensor,
  b: RefTensor,
  output: Shape,
  combine: (x: number, bx: number, y: number, by: number) => { value: number; bound: number },
): RefTensor {
  const out = refTensor(output);
  const sa = broadcastStrides(a.shape, output);
  const sb = broadcastStrides(b.shape, output);
  const index = new Array<number>(output.length).fill(0);
  let ia = 0;
  let ib = 0;
  for (let o = 0, n = numel(output); o < n; o++) {
    const r = combine(a.value[ia], a.bound[ia], b.value[ib], b.bound[ib]);
    out.value[o] = r.value;
    out.bound[o] = Number.isFinite(r.value) ? r.bound : 0;
    // Next index, row-major: carry through the axes that wrap.
    for (let k = output.length - 1; k >= 0; k--) {
      ia += sa[k];
      ib += sb[k];
      if (++index[k] < output[k]) break;
      ia -= sa[k] * output[k];
      ib -= sb[k] * output[k];
      index[k] = 0;
    }
  }
  return out;
}
