import { numel } from '@tessera/core';
import { elementwiseFor } from '../kernels/wasm/elementwise.js';
import { view, type CpuKernel, type Ref, type Step } from '../program.js';

export interface ReluStep extends Step {
  readonly x: Ref;
  readonly y: Ref;
}

/** max(x, 0) with NaN kept; the units are elements. */
export const reluKernel: CpuKernel<ReluStep> = {
  op: 'relu',
  prepare: (node, ctx) => ({
    kernel: 'relu',
    node: node.name,
    units: numel(node.output.shape),
    costPerUnit: 1,
    x: ctx.operand(node.inputs[0]),
    y: ctx.output(node),
  }),
  run(s, mem, start, end) {
    const x = view(mem, s.x);
    const y = view(mem, s.y);
    elementwiseFor(mem, x, y).relu(x, s.x.off, y, s.y.off, start, end);
  },
};
