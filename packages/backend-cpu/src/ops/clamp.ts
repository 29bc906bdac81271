import { numel } from '@tessera/core';
import { elementwiseFor } from '../kernels/wasm/elementwise.js';
import { view, type CpuKernel, type Ref, type Step } from '../program.js';

/** relu and relu6: one operand, the units are elements (the plan may run them in place). */
export interface ClampStep extends Step {
  readonly x: Ref;
  readonly y: Ref;
}

/** The cpu kernel of a clamping op: the element-wise kernel of that name (wasm SIMD where the memory has it). */
export function clampKernel(op: 'relu' | 'relu6'): CpuKernel<ClampStep> {
  return {
    op,
    prepare: (node, ctx) => ({
      kernel: op,
      node: node.name,
      units: numel(node.output.shape),
      costPerUnit: 1,
      x: ctx.operand(node.inputs[0]),
      y: ctx.output(node),
    }),
    run(s, mem, start, end) {
      const x = view(mem, s.x);
      const y = view(mem, s.y);
      elementwiseFor(mem, x, y)[op](x, s.x.off, y, s.y.off, start, end);
    },
  };
}
