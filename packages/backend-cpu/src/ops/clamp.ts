import { numel } from '@tessera/core';
import { view, type CpuKernel, type Memory, type Ref, type Step } from '../program.js';

/** relu and relu6: one operand, the units are elements (the plan may run them in place). */
export interface ClampStep extends Step {
  readonly x: Ref;
  readonly y: Ref;
}

type ClampRun = (x: Float32Array, xOff: number, y: Float32Array, yOff: number, start: number, end: number, mem: Memory) => void;

/** The cpu kernel of a clamping op whose loop over elements [start, end) is `run`. */
export function clampKernel(op: string, run: ClampRun): CpuKernel<ClampStep> {
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
      run(view(mem, s.x), s.x.off, view(mem, s.y), s.y.off, start, end, mem);
    },
  };
}
