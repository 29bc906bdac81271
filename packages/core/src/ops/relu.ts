import { z } from 'zod';
import { refTensor, reluValue, withSignedZeros } from './numerics.js';
import { defineOp } from './spec.js';

/**
 * relu(x) = max(x, 0); relu(NaN) = NaN; every zero it gives is +0 (relu(-0) = +0), a specified
 * sign. It is 1-Lipschitz, so the error bound passes through unchanged.
 */
export const relu = defineOp({
  name: 'relu',
  inputs: ['x'],
  elementwise: true,
  attrs: z.object({}).strict(),
  inferShape: ([x]) => x,
  cost: () => ({ macs: 0 }),
  reference([x]) {
    return withSignedZeros(refTensor(x.shape, x.value.map(reluValue), x.bound.slice()));
  },
});
