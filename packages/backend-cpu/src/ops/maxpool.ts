import { poolGeometry, type ConvGeometry, type MaxpoolAttrs } from '@tessera/core';
import { maxpool } from '../kernels/index.js';
import { view, type CpuKernel, type Ref, type Step } from '../program.js';

export interface MaxpoolStep extends Step {
  readonly g: ConvGeometry;
  readonly x: Ref;
  readonly y: Ref;
}

/** Max pooling, one pass per output pixel; the units are output pixels. */
export const maxpoolKernel: CpuKernel<MaxpoolStep> = {
  op: 'maxpool',
  prepare(node, ctx) {
    const g = poolGeometry(ctx.graph.value(node.inputs[0]).shape, node.attrs as MaxpoolAttrs);
    return {
      kernel: 'maxpool',
      node: node.name,
      units: g.batch * g.outH * g.outW,
      costPerUnit: g.kH * g.kW * g.inC,
      g,
      x: ctx.operand(node.inputs[0]),
      y: ctx.output(node),
    };
  },
  run: (s, mem, start, end) => maxpool(s.g, view(mem, s.x), s.x.off, view(mem, s.y), s.y.off, start, end),
};
