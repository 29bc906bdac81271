import type { WebGLKernel } from '../program.js';
import { prepareConv } from './conv2d.js';

/** conv2d + bias + optional relu in one program: the epilogue runs on the accumulators. */
export const fusedConv2dKernel: WebGLKernel = {
  op: 'fused_conv2d',
  prepare: (node, ctx) => prepareConv(node, ctx, node.inputs[2], (node.attrs as { relu?: boolean }).relu === true),
};
