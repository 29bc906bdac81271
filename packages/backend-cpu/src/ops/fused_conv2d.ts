import { conv2dKernel, prepareConv, type ConvStep } from './conv2d.js';
import type { CpuKernel } from '../program.js';

/** conv2d + bias (+ relu): the conv kernel with its epilogue switched on. */
export const fusedConv2dKernel: CpuKernel<ConvStep> = {
  ...conv2dKernel,
  op: 'fused_conv2d',
  prepare: (node, ctx) => prepareConv(node, ctx, node.inputs[2], (node.attrs as { relu: boolean }).relu),
};
