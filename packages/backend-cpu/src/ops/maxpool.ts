import { poolGeometry, type ConvGeometry, type MaxpoolAttrs } from '@tessera/core';
import { maxpool } from '../kernels/index.js';
import { wasmElementwiseFor } from '../kernels/wasm/elementwise.js';
import { view, type CpuKernel, type Ref, type Step } from '../program.js';

export interface MaxpoolStep extends Step {
  readonly g: ConvGeometry;
  readonly x: Ref;
  readonly y: Ref;
}

/** Max pooling, one pass per output pixel (wasm SIMD when the memory has a wasm GEMM); the units are output pixels. */
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
  run(s, mem, start, end) {
    const x = view(mem, s.x);
    const y = view(mem, s.y);
    // Same bits either way; the wasm SIMD kernel where the memory is a WebAssembly.Memory.
    const wasm = wasmElementwiseFor(mem, x, y);
    if (wasm) wasm.maxpool(s.g, x, s.x.off, y, s.y.off, start, end);
    else maxpool(s.g, x, s.x.off, y, s.y.off, start, end);
  },
};
