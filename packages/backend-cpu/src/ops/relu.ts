import { numel } from '@tessera/core';
import { relu } from '../kernels/index.js';
import { wasmElementwiseFor } from '../kernels/wasm/elementwise.js';
import { view, type CpuKernel, type Ref, type Step } from '../program.js';

export interface ReluStep extends Step {
  readonly x: Ref;
  readonly y: Ref;
}

/** max(x, 0) with NaN kept; the units are elements. */
export const reluKernel: CpuKernel<ReluStep> = {
  op: 'relu',
  prepare: (node, ctx) => ({
    kernel: 'relu',
    node: node.name,
    units: numel(node.output.shape),
    costPerUnit: 1,
    x: ctx.operand(node.inputs[0]),
    y: ctx.output(node),
  }),
  run(s, mem, start, end) {
    const x = view(mem, s.x);
    const y = view(mem, s.y);
    // Same bits either way; the wasm SIMD kernel where the memory is a WebAssembly.Memory.
    const wasm = wasmElementwiseFor(mem, x, y);
    if (wasm) wasm.relu(x, s.x.off, y, s.y.off, start, end);
    else relu(x, s.x.off, y, s.y.off, start, end);
  },
};
