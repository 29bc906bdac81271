import { z } from 'zod';
import { OpError } from '../errors.js';
import { shapeStr } from '../shape.js';
import { BOUND_C, TINY32, U32, refTensor } from './numerics.js';
import { defineOp, type RefTensor } from './spec.js';

/**
 * tf.nn.softmax over the last axis, computed stably: y_j = exp(x_j - m) / sum_l exp(x_l - m),
 * m the row's maximum. IEEE arithmetic then gives TensorFlow's non-finite rules: a NaN or a +Inf
 * in a row (Inf - Inf), or a row of -Inf only, makes the whole row NaN; -Inf next to a finite
 * value gives exactly 0.
 *
 * Bound of y_j (k = row length, z_j = x_j - m, docs/SEMANTICS.md "softmax"):
 *  - rounding: y_j * BOUND_C * (r_j + sum_l y_l r_l + (k + 7) u) + (k + 2) TINY, where
 *    r_j = (6 + 5 |z_j|) u is the relative error of one float32 exp(z_j): the subtraction's
 *    rounding moves the argument by u |z_j|, and GLSL ES 3.00 allows exp (3 + 2 |x|) ULP
 *    (1 ULP <= 2u relative). The sum of k positive terms adds (k + 2) u relative, the division
 *    (2.5 ULP, or a reciprocal and a product) 5u, doubled by BOUND_C; TINY per term that underflows.
 *  - carried (inputs off by up to b_l each): exactly the most a softmax of such inputs can move,
 *    max(y_j e^{b_j} / W- - y_j, y_j - y_j e^{-b_j} / W+), W± = sum_l y_l e^{±b_l}, at most 1.
 */
export const softmax = defineOp({
  name: 'softmax',
  inputs: ['logits'],
  attrs: z.object({}).strict(),
  inferShape([x]) {
    if (x.length < 1) throw new OpError(`logits ${shapeStr(x)} must have rank >= 1 (softmax runs over the last axis)`);
    return x;
  },
  // exp, additions and a division per element: no multiply-accumulates.
  cost: () => ({ macs: 0 }),
  reference([x]): RefTensor {
    const out = refTensor(x.shape);
    const k = x.shape[x.shape.length - 1];
    for (let start = 0; start < x.value.length; start += k) softmaxRow(x, out, start, k);
    return out;
  },
});

function softmaxRow(x: RefTensor, out: RefTensor, start: number, k: number): void {
  const end = start + k;
  let m = -Infinity;
  for (let i = start; i < end; i++) m = Math.max(m, x.value[i]);
  let sum = 0;
  for (let i = start; i < end; i++) sum += Math.exp(x.value[i] - m);
  let rBar = 0;
  let carried = false;
  for (let i = start; i < end; i++) {
    out.value[i] = Math.exp(x.value[i] - m) / sum;
    // A y of 0 (an exp that underflowed, or -Inf's) carries no relative error (and z may be -Inf).
    if (out.value[i] > 0) rBar += out.value[i] * expError(x.value[i] - m);
    if (x.bound[i] > 0) carried = true;
  }
  if (!Number.isFinite(sum) || Number.isNaN(m)) return; // a NaN row: exact, bound 0
  const [wMinus, wPlus] = carried ? perturbedWeights(x, out, start, end) : [1, 1];
  for (let i = start; i < end; i++) {
    const y = out.value[i];
    const b = x.bound[i];
    // y e^{±b} in log space, so that a y that underflowed to 0 still gets its (tiny) share.
    const logY = x.value[i] - m - Math.log(sum);
    const moved = carried ? Math.max(Math.exp(logY + b) / wMinus - y, y - Math.exp(logY - b) / wPlus, 0) : 0;
    const rounding = y > 0 ? BOUND_C * y * (expError(x.value[i] - m) + rBar + (k + 7) * U32) : 0;
    out.bound[i] = (moved < 1 ? moved : 1) + rounding + (k + 2) * TINY32;
  }
}

/** Relative error of a float32 exp(z) computed as exp(fl(x - m)), see above. */
function expError(z: number): number {
  return (6 + 5 * Math.abs(z)) * U32;
}

/** W- = sum y_l e^{-b_l} and W+ = sum y_l e^{b_l} over a row. */
function perturbedWeights(x: RefTensor, out: RefTensor, start: number, end: number): [number, number] {
  let wMinus = 0;
  let wPlus = 0;
  for (let i = start; i < end; i++) {
    wMinus += out.value[i] * Math.exp(-x.bound[i]);
    wPlus += out.value[i] * Math.exp(x.bound[i]);
  }
  return [wMinus, wPlus];
}
