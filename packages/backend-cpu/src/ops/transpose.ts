import { attrsOf, transpose, transposePerm } from '@tessera/core';
import { transposePlan, transposeUnits, type TransposePlan } from '../kernels/transpose.js';
import { view, type CpuKernel, type Ref, type Step } from '../program.js';

export interface TransposeStep extends Step {
  readonly x: Ref;
  readonly y: Ref;
  readonly plan: TransposePlan;
}

/** Transpose; the units are tiles of the output (kernels/transpose.ts), any range of them runs alone. */
export const transposeKernel: CpuKernel<TransposeStep> = {
  op: 'transpose',
  prepare(node, ctx) {
    const inShape = ctx.graph.value(node.inputs[0]).shape;
    const plan = transposePlan(inShape, transposePerm(attrsOf(node, transpose).perm, inShape.length));
    return {
      kernel: 'transpose',
      node: node.name,
      units: plan.units,
      costPerUnit: plan.unitSize,
      x: ctx.operand(node.inputs[0]),
      y: ctx.output(node),
      plan,
    };
  },
  run(s, mem, start, end) {
    transposeUnits(s.plan, view(mem, s.x), s.x.off, view(mem, s.y), s.y.off, start, end);
  },
};
