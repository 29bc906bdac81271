import { convGeometry, type Conv2dAttrs, type ConvGeometry, type Node } from '@tessera/core';
import {
  conv2d, conv2dScratchSize, conv2dWasm, conv2dWasmScratchSize, packBInto, packBWasmInto, packedBSize, packedBView,
  wasmPackedBSize, wasmPackedBView, type PackedB, type WasmGemm,
} from '../kernels/index.js';
import { view, type CpuKernel, type Memory, type PrepareContext, type Ref, type Step } from '../program.js';

/** conv2d and fused_conv2d share this step: im2col + packed GEMM with a bias / relu epilogue. */
export interface ConvStep extends Step {
  readonly g: ConvGeometry;
  readonly x: Ref;
  /** The filter: packed for the GEMM at compile when constant, else raw HWIO packed at run time. */
  readonly w: Ref;
  readonly wPacked: boolean;
  readonly bias: Ref | null;
  readonly relu: boolean;
  readonly y: Ref;
  /** Compiled for the wasm SIMD GEMM (its packed layout); runs only on a Memory with `wasm`. */
  readonly wasm: boolean;
}

export function prepareConv(node: Node, ctx: PrepareContext, bias: string | null, relu: boolean): ConvStep {
  const [x, f] = node.inputs;
  const g = convGeometry(ctx.graph.value(x).shape, ctx.graph.value(f).shape, node.attrs as Conv2dAttrs);
  const K = g.kH * g.kW * g.inC;
  const wasm = ctx.gemm === 'wasm';
  const filter = ctx.graph.constants.get(f);
  const w = filter
    ? wasm
      ? ctx.reserveWeights(wasmPackedBSize(K, g.outC), (dst, off) => packBWasmInto(dst, off, K, g.outC, filter.data, 0, g.outC, false))
      : ctx.reserveWeights(packedBSize(K, g.outC), (dst, off) => packBInto(dst, off, K, g.outC, filter.data, 0, g.outC, false))
    : ctx.operand(f);
  return {
    kernel: 'conv2d',
    node: node.name,
    units: g.batch * g.outH * g.outW,
    costPerUnit: K * g.outC,
    g,
    x: ctx.operand(x),
    w,
    wPacked: filter !== undefined,
    bias: bias === null ? null : ctx.operand(bias),
    relu,
    y: ctx.output(node),
    wasm,
  };
}

/** Floats at the front of the scratch for a filter packed at run time (16-float aligned). */
function filterSize(s: ConvStep): number {
  if (s.wPacked) return 0;
  const K = s.g.kH * s.g.kW * s.g.inC;
  return s.wasm ? Math.ceil(wasmPackedBSize(K, s.g.outC) / 16) * 16 : packedBSize(K, s.g.outC);
}

/** The packed filter: from weights memory, or packed now into the front of the scratch. */
function packedFilter(s: ConvStep, mem: Memory, scratch: Float32Array): PackedB {
  const K = s.g.kH * s.g.kW * s.g.inC;
  if (s.wasm) {
    if (s.wPacked) return wasmPackedBView(mem.weights, s.w.off, K, s.g.outC);
    return packBWasmInto(scratch, 0, K, s.g.outC, view(mem, s.w), s.w.off, s.g.outC, false);
  }
  if (s.wPacked) return packedBView(mem.weights, s.w.off, K, s.g.outC);
  return packBInto(scratch, 0, K, s.g.outC, view(mem, s.w), s.w.off, s.g.outC, false);
}

/** The wasm GEMM of a memory, for a step compiled for it. */
export function wasmOf(mem: Memory, node: string): WasmGemm {
  if (!mem.wasm) throw new Error(`step '${node}' was compiled for the wasm GEMM but its memory is not a WebAssembly.Memory`);
  return mem.wasm;
}

export const conv2dKernel: CpuKernel<ConvStep> = {
  op: 'conv2d',
  prepare: (node, ctx) => prepareConv(node, ctx, null, false),
  scratchSize: (s, start, end) =>
    filterSize(s) + (s.wasm ? conv2dWasmScratchSize(s.g, start, end) : conv2dScratchSize(s.g, start, end)),
  run(s, mem, start, end, scratch) {
    const epilogue = s.bias ? { bias: view(mem, s.bias), biasOff: s.bias.off, relu: s.relu } : { relu: s.relu };
    const w = packedFilter(s, mem, scratch);
    if (s.wasm) {
      const wasm = wasmOf(mem, s.node);
      conv2dWasm(wasm, s.g, view(mem, s.x), s.x.off, w, view(mem, s.y), s.y.off, epilogue, scratch, filterSize(s), start, end);
      return;
    }
    // float32 rounding: the same bits as the wasm GEMM (cpu and workers backends agree bit for bit).
    conv2d(s.g, view(mem, s.x), s.x.off, w, view(mem, s.y), s.y.off, epilogue, scratch, filterSize(s), start, end);
  },
};
