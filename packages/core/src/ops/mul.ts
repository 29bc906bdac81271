import { z } from 'zod';
import { broadcastReference, broadcastShapes } from './broadcast.js';
import { TINY32, addBound } from './numerics.js';
import { defineOp } from './spec.js';

/**
 * tf.multiply with NumPy broadcasting (ops/broadcast.ts): y = a * b. One float32 rounding of the
 * product, plus the operands' errors carried to first order and conservatively to second:
 *
 *     bound = bound(a) |b| + |a| bound(b) + bound(a) bound(b) + 2u |a b| + 3 TINY
 *
 * and the whole |a b| where an operand is subnormal (a device may flush it to zero first, as
 * conv2d's bound allows). Zeros are not given a specified sign (as products in a sum). Cost 0
 * MACs, as bias_add.
 */
export const mul = defineOp({
  name: 'mul',
  inputs: ['a', 'b'],
  attrs: z.object({}).strict(),
  inferShape: ([a, b]) => broadcastShapes(a, b),
  cost: () => ({ macs: 0 }),
  reference: ([a, b], _attrs, output) =>
    broadcastReference(a, b, output, (x, bx, y, by) => {
      const value = x * y;
      const ax = Math.abs(x);
      const ay = Math.abs(y);
      const abs = Math.abs(value);
      let bound = bx * ay + ax * by + bx * by + addBound(abs);
      if ((ax < TINY32 && ax !== 0) || (ay < TINY32 && ay !== 0)) bound += abs;
      return { value, bound };
    }),
});
