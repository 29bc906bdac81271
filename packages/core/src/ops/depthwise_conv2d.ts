import { conv2dAttrs, conv2dReference, convGeometry } from './conv2d.js';
import { defineOp } from './spec.js';

/**
 * tf.nn.depthwise_conv2d: input NHWC, filter [KH, KW, C, multiplier]; output channel
 * c * multiplier + m is input channel c convolved with filter[:, :, c, m]. conv2d's attributes,
 * window and padding; the reference is conv2d's grouped by channel (a sum of K = KH * KW
 * products, padded taps included), so the bound is conv2d's with that K.
 */
export const depthwiseConv2d = defineOp({
  name: 'depthwise_conv2d',
  inputs: ['input', 'filter'],
  attrs: conv2dAttrs,
  inferShape([input, filter], attrs) {
    const g = convGeometry(input, filter, attrs, true);
    return [g.batch, g.outH, g.outW, g.outC];
  },
  cost([, filter], output) {
    return { macs: output[0] * output[1] * output[2] * output[3] * filter[0] * filter[1] };
  },
  reference([x, f], attrs) {
    const g = convGeometry(x.shape, f.shape, attrs, true);
    return conv2dReference(x, f, g, g.inC);
  },
});
