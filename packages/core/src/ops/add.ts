import { z } from 'zod';
import { broadcastReference, broadcastShapes } from './broadcast.js';
import { addBound } from './numerics.js';
import { defineOp } from './spec.js';

/**
 * tf.add with NumPy broadcasting (ops/broadcast.ts): y = a + b. One float32 rounding, as
 * bias_add: bound = bound(a) + bound(b) + 2u (|a| + |b|) + 3 TINY. Zeros come from a sum, so
 * their sign is not specified. Not `elementwise`: a broadcast operand 0 is smaller than the
 * output, so the output cannot take its memory.
 */
export const add = defineOp({
  name: 'add',
  inputs: ['a', 'b'],
  attrs: z.object({}).strict(),
  inferShape: ([a, b]) => broadcastShapes(a, b),
  cost: () => ({ macs: 0 }),
  reference: ([a, b], _attrs, output) =>
    broadcastReference(a, b, output, (x, bx, y, by) => ({ value: x + y, bound: bx + by + addBound(Math.abs(x) + Math.abs(y)) })),
});
