import { numel } from '@tessera/core';
import { relu6 } from '../kernels/elementwise.js';
import { view, type CpuKernel, type Ref, type Step } from '../program.js';

export interface Relu6Step extends Step {
  readonly x: Ref;
  readonly y: Ref;
}

/** min(max(x, 0), 6) with NaN kept and +0 for x <= 0; the units are elements (in place allowed). */
export const relu6Kernel: CpuKernel<Relu6Step> = {
  op: 'relu6',
  prepare: (node, ctx) => ({
    kernel: 'relu6',
    node: node.name,
    units: numel(node.output.shape),
    costPerUnit: 1,
    x: ctx.operand(node.inputs[0]),
    y: ctx.output(node),
  }),
  run(s, mem, start, end) {
    relu6(view(mem, s.x), s.x.off, view(mem, s.y), s.y.off, start, end);
  },
};
