import { attrsOf, concat, concatGeometry, type ConcatGeometry } from '@tessera/core';
import { copy } from '../kernels/elementwise.js';
import { view, type CpuKernel, type Ref, type Step } from '../program.js';

export interface ConcatStep extends Step {
  /** The operands, in order. */
  readonly values: readonly Ref[];
  readonly y: Ref;
  readonly g: ConcatGeometry;
}

/** Concatenation; the units are output runs (all dimensions before the axis): each operand's run copied in turn. */
export const concatKernel: CpuKernel<ConcatStep> = {
  op: 'concat',
  prepare(node, ctx) {
    const g = concatGeometry(node.inputs.map((v) => ctx.graph.value(v).shape), attrsOf(node, concat).axis);
    return {
      kernel: 'concat',
      node: node.name,
      units: g.outer,
      costPerUnit: g.total,
      values: node.inputs.map((v) => ctx.operand(v)),
      y: ctx.output(node),
      g,
    };
  },
  run(s, mem, start, end) {
    const y = view(mem, s.y);
    const { inner, offsets, total } = s.g;
    s.values.forEach((ref, k) => {
      const x = view(mem, ref);
      const w = inner[k];
      for (let u = start; u < end; u++) copy(x, ref.off + u * w, y, s.y.off + u * total + offsets[k], 0, w);
    });
  },
};
