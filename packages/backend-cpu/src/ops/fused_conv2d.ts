import { attrsOf, fusedConv2d } from '@tessera/core';
import { conv2dKernel, prepareConv, type ConvStep } from './conv2d.js';
import type { CpuKernel } from '../program.js';

/** conv2d + bias (+ residual) (+ activation): the conv kernel with its epilogue switched on. */
export const fusedConv2dKernel: CpuKernel<ConvStep> = {
  ...conv2dKernel,
  op: 'fused_conv2d',
  prepare(node, ctx) {
    const attrs = attrsOf(node, fusedConv2d);
    return prepareConv(node, ctx, attrs, { bias: node.inputs[2], residual: node.inputs[3] ?? null, activation: attrs.activation }) as ConvStep;
  },
};
