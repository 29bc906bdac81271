import { z } from 'zod';
import { OpError } from '../errors.js';
import { shapeStr } from '../shape.js';
import { checkBias } from './fused_conv2d.js';
import { applyEpilogue, refTensor } from './numerics.js';
import { defineOp } from './spec.js';

/** tf.nn.bias_add: adds a rank-1 bias along the last (channel) dimension. */
export const biasAdd = defineOp({
  name: 'bias_add',
  inputs: ['value', 'bias'],
  elementwise: true,
  attrs: z.object({}).strict(),
  inferShape([value, bias]) {
    if (value.length < 1) throw new OpError(`value ${shapeStr(value)} must have a channel dimension`);
    checkBias(bias, value[value.length - 1]);
    return value;
  },
  cost: () => ({ macs: 0 }),
  reference([x, b]) {
    const out = refTensor(x.shape, x.value.slice(), x.bound.slice());
    return applyEpilogue(out, b, 'none');
  },
});
