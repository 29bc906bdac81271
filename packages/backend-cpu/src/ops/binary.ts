import { numel } from '@tessera/core';
import { binaryBroadcast, broadcastGeometry, type BinaryOp, type BroadcastGeometry } from '../kernels/broadcast.js';
import { view, type CpuKernel, type Ref, type Step } from '../program.js';

export interface BinaryStep extends Step {
  readonly a: Ref;
  readonly b: Ref;
  readonly y: Ref;
  readonly g: BroadcastGeometry;
}

/** The kernel of a broadcasting binary op (add.ts, mul.ts); the units are output elements. */
export function binaryKernel(op: BinaryOp): CpuKernel<BinaryStep> {
  return {
    op,
    prepare(node, ctx) {
      const [a, b] = node.inputs;
      return {
        kernel: op,
        node: node.name,
        units: numel(node.output.shape),
        costPerUnit: 1,
        a: ctx.operand(a),
        b: ctx.operand(b),
        y: ctx.output(node),
        g: broadcastGeometry(ctx.graph.value(a).shape, ctx.graph.value(b).shape, node.output.shape),
      };
    },
    run(s, mem, start, end) {
      binaryBroadcast(op, s.g, view(mem, s.a), s.a.off, view(mem, s.b), s.b.off, view(mem, s.y), s.y.off, start, end);
    },
  };
}
