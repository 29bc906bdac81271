import { attrsOf, fusedMatmul } from '@tessera/core';
import type { WebGLKernel } from '../program.js';
import { prepareMatmul } from './matmul.js';

/** matmul + bias (+ activation) in one program. */
export const fusedMatmulKernel: WebGLKernel = {
  op: 'fused_matmul',
  prepare(node, ctx) {
    const attrs = attrsOf(node, fusedMatmul);
    prepareMatmul(node, ctx, attrs, { bias: true, residual: false, activation: attrs.activation });
  },
};
