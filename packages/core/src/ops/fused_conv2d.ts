import { z } from 'zod';
import { OpError } from '../errors.js';
import { expectRank, shapeStr } from '../shape.js';
import { conv2d, conv2dAttrs, conv2dReference, convGeometry } from './conv2d.js';
import { applyEpilogue } from './numerics.js';
import { defineOp } from './spec.js';

/** conv2d, then bias_add, then (optionally) relu, as one op; created by the fusion pass. */
export const fusedConv2dAttrs = conv2dAttrs.extend({ relu: z.boolean().default(false) }).strict();

export const fusedConv2d = defineOp({
  name: 'fused_conv2d',
  inputs: ['input', 'filter', 'bias'],
  attrs: fusedConv2dAttrs,
  inferShape([input, filter, bias], attrs) {
    const out = conv2d.inferShape([input, filter], attrs);
    checkBias(bias, out[out.length - 1]);
    return out;
  },
  cost([input, filter], output, attrs) {
    return conv2d.cost([input, filter], output, attrs);
  },
  reference([x, f, b], attrs) {
    const out = conv2dReference(x, f, convGeometry(x.shape, f.shape, attrs));
    return applyEpilogue(out, b, attrs.relu ? 'relu' : 'none');
  },
});

/** A bias (or other per-channel) operand is rank 1 and as long as the channel (last) dimension. */
export function checkBias(bias: readonly number[], channels: number, what = 'bias'): void {
  expectRank(bias, [1], what);
  if (bias[0] !== channels) {
    throw new OpError(`${what} ${shapeStr(bias)} must match the channel dimension ${channels}`);
  }
}
