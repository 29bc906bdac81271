import { attrsOf, fusedMatmul } from '@tessera/core';
import { matmulKernel, prepareMatmul, type MatmulStep } from './matmul.js';
import type { CpuKernel } from '../program.js';

/** matmul + bias (+ activation): the matmul kernel with its epilogue switched on. */
export const fusedMatmulKernel: CpuKernel<MatmulStep> = {
  ...matmulKernel,
  op: 'fused_matmul',
  prepare(node, ctx) {
    const attrs = attrsOf(node, fusedMatmul);
    return prepareMatmul(node, ctx, attrs, node.inputs[2], attrs.activation);
  },
};
