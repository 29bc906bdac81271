import { attrsOf, fusedDepthwiseConv2d } from '@tessera/core';
import type { CpuKernel } from '../program.js';
import { depthwiseConv2dKernel, prepareDepthwise, type DepthwiseConv2dStep } from './depthwise_conv2d.js';

/** depthwise + bias + activation: the depthwise kernel with its epilogue switched on. */
export const fusedDepthwiseConv2dKernel: CpuKernel<DepthwiseConv2dStep> = {
  ...depthwiseConv2dKernel,
  op: 'fused_depthwise_conv2d',
  prepare(node, ctx) {
    const attrs = attrsOf(node, fusedDepthwiseConv2d);
    return prepareDepthwise(node, ctx, attrs, node.inputs[2], attrs.activation);
  },
};
