import type { WebGLKernel } from '../program.js';
import { prepareMatmul } from './matmul.js';

/** matmul + bias + optional relu in one program. */
export const fusedMatmulKernel: WebGLKernel = {
  op: 'fused_matmul',
  prepare: (node, ctx) => prepareMatmul(node, ctx, node.inputs[2], (node.attrs as { relu?: boolean }).relu === true),
};
