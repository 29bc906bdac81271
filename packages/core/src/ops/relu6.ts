import { z } from 'zod';
import { refTensor, relu6Value, withSignedZeros } from './numerics.js';
import { defineOp } from './spec.js';

/**
 * tf.nn.relu6: min(max(x, 0), 6); relu6(NaN) = NaN; every zero it gives is +0 (relu6(-0) = +0),
 * a specified sign, as relu. 1-Lipschitz and exact in float32: the bound passes through.
 */
export const relu6 = defineOp({
  name: 'relu6',
  inputs: ['x'],
  elementwise: true,
  attrs: z.object({}).strict(),
  inferShape: ([x]) => x,
  cost: () => ({ macs: 0 }),
  reference([x]) {
    return withSignedZeros(refTensor(x.shape, x.value.map(relu6Value), x.bound.slice()));
  },
});
