import { attrsOf, avgPool } from '@tessera/core';
import type { WebGLKernel } from '../program.js';
import { drawPool } from './maxpool.js';

/** Mean of the window's cells inside the input, 4 channels per texel: padded cells are neither added nor counted. */
export const avgPoolKernel: WebGLKernel = {
  op: 'avg_pool',
  prepare(node, ctx) {
    drawPool(node, ctx, attrsOf(node, avgPool), 'vec4 sum = vec4(0.0); float count = 0.0;', 'sum += v; count += 1.0;', 'outColor = sum / count;');
  },
};
