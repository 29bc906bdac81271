import { attrsOf, fusedDepthwiseConv2d } from '@tessera/core';
import type { WebGLKernel } from '../program.js';
import { prepareDepthwise } from './depthwise_conv2d.js';

/** depthwise + bias + activation in one program: the depthwise shader with its epilogue on the accumulator. */
export const fusedDepthwiseConv2dKernel: WebGLKernel = {
  op: 'fused_depthwise_conv2d',
  prepare(node, ctx) {
    const attrs = attrsOf(node, fusedDepthwiseConv2d);
    prepareDepthwise(node, ctx, attrs, node.inputs[2], attrs.activation);
  },
};
