import { attrsOf, fusedConv2d } from '@tessera/core';
import type { WebGLKernel } from '../program.js';
import { prepareConv } from './conv2d.js';

/** conv2d + bias (+ residual) (+ activation) in one program: the epilogue runs on the accumulators. */
export const fusedConv2dKernel: WebGLKernel = {
  op: 'fused_conv2d',
  prepare(node, ctx) {
    const attrs = attrsOf(node, fusedConv2d);
    prepareConv(node, ctx, attrs, { bias: true, residual: node.inputs.length > 3, activation: attrs.activation });
  },
};
