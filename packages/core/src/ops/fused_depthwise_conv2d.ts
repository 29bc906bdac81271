import { conv2dAttrs, conv2dReference, convGeometry } from './conv2d.js';
import { depthwiseConv2d } from './depthwise_conv2d.js';
import { checkBias } from './fused_conv2d.js';
import { activationAttr, applyEpilogue } from './numerics.js';
import { defineOp } from './spec.js';

/**
 * depthwise_conv2d, then bias_add, then an activation (none, relu, relu6), as one op; created by
 * the fusion pass (MobileNet's depthwise blocks). Same values and bounds as the three ops apart.
 */
export const fusedDepthwiseConv2dAttrs = conv2dAttrs.extend({ activation: activationAttr }).strict();

export const fusedDepthwiseConv2d = defineOp({
  name: 'fused_depthwise_conv2d',
  inputs: ['input', 'filter', 'bias'],
  attrs: fusedDepthwiseConv2dAttrs,
  inferShape([input, filter, bias], attrs) {
    const out = depthwiseConv2d.inferShape([input, filter], attrs);
    checkBias(bias, out[out.length - 1]);
    return out;
  },
  cost([input, filter], output, attrs) {
    return depthwiseConv2d.cost([input, filter], output, attrs);
  },
  reference([x, f, b], attrs) {
    const g = convGeometry(x.shape, f.shape, attrs, true);
    return applyEpilogue(conv2dReference(x, f, g, g.inC), b, attrs.activation);
  },
});
