import { matmulGeometry, type MatmulAttrs, type MatmulGeometry, type Node } from '@tessera/core';
import {
  gemm, packBInto, packBWasmInto, packedBSize, packedBView, wasmPackedBSize, wasmPackedBView, type PackedB,
} from '../kernels/index.js';
import { view, type CpuKernel, type Memory, type PrepareContext, type Ref, type Step } from '../program.js';
import { wasmOf } from './conv2d.js';

/** matmul and fused_matmul: rows of all batches are the units; b packed at compile when constant. */
export interface MatmulStep extends Step {
  readonly g: MatmulGeometry;
  readonly a: Ref;
  readonly b: Ref;
  readonly bPacked: boolean;
  readonly bias: Ref | null;
  readonly relu: boolean;
  readonly y: Ref;
  /** Compiled for the wasm SIMD GEMM (its packed layout); runs only on a Memory with `wasm`. */
  readonly wasm: boolean;
}

/** Floats of one packed b (16-float aligned, so batched packs stay aligned). */
function onePacked(k: number, n: number, wasm: boolean): number {
  return wasm ? Math.ceil(wasmPackedBSize(k, n) / 16) * 16 : packedBSize(k, n);
}

export function prepareMatmul(node: Node, ctx: PrepareContext, bias: string | null, relu: boolean): MatmulStep {
  const [a, b] = node.inputs;
  const g = matmulGeometry(ctx.graph.value(a).shape, ctx.graph.value(b).shape, node.attrs as MatmulAttrs);
  const wasm = ctx.gemm === 'wasm';
  const constB = ctx.graph.constants.get(b);
  // A shared constant b is packed once; batched constant b's are packed per batch, back to back.
  const bBatches = g.sharedB ? 1 : g.batch;
  const ldb = g.transposeB ? g.k : g.n;
  const one = onePacked(g.k, g.n, wasm);
  const pack = wasm ? packBWasmInto : packBInto;
  const bRef = constB
    ? ctx.reserveWeights(one * bBatches, (dst, off) => {
        for (let t = 0; t < bBatches; t++) pack(dst, off + t * one, g.k, g.n, constB.data, t * g.k * g.n, ldb, g.transposeB);
      })
    : ctx.operand(b);
  return {
    kernel: 'matmul',
    node: node.name,
    units: g.batch * g.m,
    costPerUnit: g.k * g.n,
    g,
    a: ctx.operand(a),
    b: bRef,
    bPacked: constB !== undefined,
    bias: bias === null ? null : ctx.operand(bias),
    relu,
    y: ctx.output(node),
    wasm,
  };
}

function packedB(s: MatmulStep, mem: Memory, batch: number, scratch: Float32Array): PackedB {
  const { k, n, sharedB, transposeB } = s.g;
  const t = sharedB ? 0 : batch;
  if (s.bPacked) {
    const off = s.b.off + t * onePacked(k, n, s.wasm);
    return s.wasm ? wasmPackedBView(mem.weights, off, k, n) : packedBView(mem.weights, off, k, n);
  }
  const pack = s.wasm ? packBWasmInto : packBInto;
  return pack(scratch, 0, k, n, view(mem, s.b), s.b.off + t * k * n, transposeB ? k : n, transposeB);
}

export const matmulKernel: CpuKernel<MatmulStep> = {
  op: 'matmul',
  prepare: (node, ctx) => prepareMatmul(node, ctx, null, false),
  scratchSize: (s) => (s.bPacked ? 0 : onePacked(s.g.k, s.g.n, s.wasm)),
  run(s, mem, start, end, scratch) {
    const { m, k, n, transposeA } = s.g;
    const epilogue = s.bias ? { bias: view(mem, s.bias), biasOff: s.bias.off, relu: s.relu } : { relu: s.relu };
    const a = view(mem, s.a);
    const y = view(mem, s.y);
    const wasm = s.wasm ? wasmOf(mem, s.node) : null;
    for (let t = Math.floor(start / m); t * m < end; t++) {
      const r0 = Math.max(start - t * m, 0);
      const r1 = Math.min(end - t * m, m);
      const b = packedB(s, mem, t, scratch);
      const aOff = s.a.off + t * m * k;
      const lda = transposeA ? m : k;
      const yOff = s.y.off + t * m * n;
      if (wasm) wasm.gemm(m, n, k, a, aOff, lda, transposeA, b, y, yOff, n, epilogue, r0, r1);
      else gemm(m, n, k, a, aOff, lda, transposeA, b, y, yOff, n, epilogue, r0, r1); // same bits as wasm
    }
  },
};
