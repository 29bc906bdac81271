import { matmulKernel, prepareMatmul, type MatmulStep } from './matmul.js';
import type { CpuKernel } from '../program.js';

/** matmul + bias (+ relu): the matmul kernel with its epilogue switched on. */
export const fusedMatmulKernel: CpuKernel<MatmulStep> = {
  ...matmulKernel,
  op: 'fused_matmul',
  prepare: (node, ctx) => prepareMatmul(node, ctx, node.inputs[2], (node.attrs as { relu: boolean }).relu),
};
