import { attrsOf, transpose, transposePerm } from '@tessera/core';
import { transposePlan, transposeUnits, type TransposePlan } from '../kernels/transpose.js';
import { wasmTransposeFor } from '../kernels/wasm/transpose.js';
import { view, type CpuKernel, type Ref, type Step } from '../program.js';

export interface TransposeStep extends Step {
  readonly x: Ref;
  readonly y: Ref;
  readonly plan: TransposePlan;
}

/** Transpose; the units are tiles of the output (kernels/transpose.ts), any range of them runs alone, each tile by wasm SIMD where the memory allows. */
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
    const x = view(mem, s.x);
    const y = view(mem, s.y);
    // The wasm SIMD tile where the memory has one (same bits), else the TypeScript loop.
    const wasm = wasmTransposeFor(mem, x, y);
    transposeUnits(s.plan, x, s.x.off, y, s.y.off, start, end, wasm ?? undefined);
  },
};
