import { attrsOf, fusedConv2d } from '@tessera/core';
import type { WebGLKernel } from '../program.js';
import { prepareConv } from './conv2d.js';

/** conv2d + bias + optional relu in one program: the epilogue runs on the accumulators. */
export const fusedConv2dKernel: WebGLKernel = {
  op: 'fused_conv2d',
  prepare(node, ctx) {
    const attrs = attrsOf(node, fusedConv2d);
    prepareConv(node, ctx, attrs, node.inputs[2], attrs.relu);
  },
};
