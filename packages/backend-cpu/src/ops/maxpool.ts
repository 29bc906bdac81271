import { attrsOf, maxpool as maxpoolSpec, poolGeometry, type ConvGeometry, type Node, type PoolAttrs } from '@tessera/core';
import { elementwiseFor } from '../kernels/wasm/elementwise.js';
import { view, type CpuKernel, type PrepareContext, type Ref, type Step } from '../program.js';

export interface MaxpoolStep extends Step {
  readonly g: ConvGeometry;
  readonly x: Ref;
  readonly y: Ref;
}

/** The step of a pooling node (maxpool, avg_pool): its geometry; the units are output pixels. */
export function preparePool(node: Node, ctx: PrepareContext, attrs: PoolAttrs): MaxpoolStep {
  const g = poolGeometry(ctx.graph.value(node.inputs[0]).shape, attrs);
  return {
    kernel: node.op,
    node: node.name,
    units: g.batch * g.outH * g.outW,
    costPerUnit: g.kH * g.kW * g.inC,
    g,
    x: ctx.operand(node.inputs[0]),
    y: ctx.output(node),
  };
}

/** Max pooling, one pass per output pixel (wasm SIMD where the memory's GEMM is the wasm one: same bits); the units are output pixels. */
export const maxpoolKernel: CpuKernel<MaxpoolStep> = {
  op: 'maxpool',
  prepare: (node, ctx) => preparePool(node, ctx, attrsOf(node, maxpoolSpec)),
  run(s, mem, start, end) {
    const x = view(mem, s.x);
    const y = view(mem, s.y);
    elementwiseFor(mem, x, y).maxpool(s.g, x, s.x.off, y, s.y.off, start, end);
  },
};
