import { attrsOf, avgPool as avgPoolSpec } from '@tessera/core';
import { avgPool } from '../kernels/avg_pool.js';
import { view, type CpuKernel } from '../program.js';
import { preparePool, type MaxpoolStep } from './maxpool.js';

/** Average pooling (TypeScript); the units are output pixels, as maxpool's. */
export const avgPoolKernel: CpuKernel<MaxpoolStep> = {
  op: 'avg_pool',
  prepare: (node, ctx) => preparePool(node, ctx, attrsOf(node, avgPoolSpec)),
  run(s, mem, start, end) {
    avgPool(s.g, view(mem, s.x), s.x.off, view(mem, s.y), s.y.off, start, end);
  },
};
