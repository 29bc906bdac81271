import { OpError } from '../errors.js';
import { expectRank, sameShape, shapeStr, type Shape } from '../shape.js';
import { conv2d, conv2dAttrs, conv2dReference, convGeometry } from './conv2d.js';
import { activationAttr, applyEpilogue } from './numerics.js';
import { defineOp } from './spec.js';

/**
 * conv2d, then bias_add, then (optionally) the add of an output-shaped `residual` (a ResNet
 * shortcut), then an activation (none, relu, relu6), as one op; created by the fusion pass:
 * y = act((conv(x, w) + bias) + residual).
 */
export const fusedConv2dAttrs = conv2dAttrs.extend({ activation: activationAttr }).strict();

export const fusedConv2d = defineOp({
  name: 'fused_conv2d',
  inputs: ['input', 'filter', 'bias', 'residual'],
  optional: 1,
  attrs: fusedConv2dAttrs,
  inferShape([input, filter, bias, residual], attrs) {
    const out = conv2d.inferShape([input, filter], attrs);
    checkBias(bias, out[out.length - 1]);
    if (residual) checkResidual(residual, out);
    return out;
  },
  cost([input, filter], output, attrs) {
    return conv2d.cost([input, filter], output, attrs);
  },
  reference([x, f, b, residual], attrs) {
    const out = conv2dReference(x, f, convGeometry(x.shape, f.shape, attrs));
    return applyEpilogue(out, b, attrs.activation, residual);
  },
});

/** A bias (or other per-channel) operand is rank 1 and as long as the channel (last) dimension. */
export function checkBias(bias: readonly number[], channels: number, what = 'bias'): void {
  expectRank(bias, [1], what);
  if (bias[0] !== channels) {
    throw new OpError(`${what} ${shapeStr(bias)} must match the channel dimension ${channels}`);
  }
}

/** The residual is added element by element: exactly the output's shape (no broadcasting). */
function checkResidual(residual: Shape, out: Shape): void {
  if (!sameShape(residual, out)) {
    throw new OpError(`residual ${shapeStr(residual)} must have the output's shape ${shapeStr(out)} (no broadcasting)`);
  }
}
