import { elementwiseFor } from '../kernels/wasm/elementwise.js';
import { elementUnits, view, type CpuKernel, type Ref, type Step } from '../program.js';

export interface BiasAddStep extends Step {
  readonly x: Ref;
  readonly bias: Ref;
  readonly channels: number;
  readonly y: Ref;
}

/** Adds the bias along the last dimension; the units are elements. */
export const biasAddKernel: CpuKernel<BiasAddStep> = {
  op: 'bias_add',
  prepare(node, ctx) {
    const shape = node.output.shape;
    return {
      ...elementUnits(node, 1),
      x: ctx.operand(node.inputs[0]),
      bias: ctx.operand(node.inputs[1]),
      channels: shape[shape.length - 1],
      y: ctx.output(node),
    };
  },
  run(s, mem, start, end) {
    const x = view(mem, s.x);
    const bias = view(mem, s.bias);
    const y = view(mem, s.y);
    elementwiseFor(mem, x, bias, y).biasAdd(x, s.x.off, bias, s.bias.off, s.channels, y, s.y.off, start, end);
  },
};
