import { attrsOf, matmul as matmulSpec, matmulGeometry, type Activation, type MatmulAttrs, type MatmulGeometry, type Node } from '@tessera/core';
import { gemmCall, releaseGemmCall, type GemmLayout } from '../kernels/index.js';
import { view, type CpuKernel, type PrepareContext, type Ref, type Step } from '../program.js';
import { gemmFor, gemmLayout, stepLayout } from './gemm-for.js';

/** matmul and fused_matmul: rows of all batches are the units; b packed at compile when constant. */
export interface MatmulStep extends Step {
  readonly g: MatmulGeometry;
  readonly a: Ref;
  readonly b: Ref;
  readonly bPacked: boolean;
  readonly bias: Ref | null;
  readonly activation: Activation;
  readonly y: Ref;
  /** Compiled for the wasm SIMD GEMM (its packed layout); runs only on a Memory whose `gemm` is one. */
  readonly wasm: boolean;
}

/** Floats of one packed b (16-float aligned, so batched packs stay aligned). */
function onePacked(k: number, n: number, layout: GemmLayout): number {
  return Math.ceil(layout.packedBSize(k, n) / 16) * 16;
}

export function prepareMatmul(node: Node, ctx: PrepareContext, attrs: MatmulAttrs, bias: string | null, activation: Activation): MatmulStep {
  const [a, b] = node.inputs;
  const g = matmulGeometry(ctx.graph.value(a).shape, ctx.graph.value(b).shape, attrs);
  const layout = gemmLayout(ctx.gemm);
  const constB = ctx.graph.constants.get(b);
  // A shared constant b is packed once; batched constant b's are packed per batch, back to back.
  const bBatches = g.sharedB ? 1 : g.batch;
  const ldb = g.transposeB ? g.k : g.n;
  const one = onePacked(g.k, g.n, layout);
  const bRef = constB
    ? ctx.reserveWeights(one * bBatches, (dst, off) => {
        for (let t = 0; t < bBatches; t++) layout.packB(dst, off + t * one, g.k, g.n, constB.data, t * g.k * g.n, ldb, g.transposeB);
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
    activation,
    y: ctx.output(node),
    wasm: layout.path === 'wasm',
  };
}

// The GEMM call every run fills (kernels are synchronous: one per thread is enough).
const call = gemmCall();

export const matmulKernel: CpuKernel<MatmulStep> = {
  op: 'matmul',
  prepare: (node, ctx) => prepareMatmul(node, ctx, attrsOf(node, matmulSpec), null, 'none'),
  scratchSize: (s) => (s.bPacked ? 0 : onePacked(s.g.k, s.g.n, stepLayout(s))),
  run(s, mem, start, end, scratch) {
    const { m, k, n, transposeA, transposeB, sharedB } = s.g;
    const layout = stepLayout(s);
    const c = call;
    c.M = m; c.N = n; c.K = k; c.a = view(mem, s.a); c.lda = transposeA ? m : k; c.transA = transposeA;
    c.b = s.bPacked ? mem.weights : scratch; c.c = view(mem, s.y); c.ldc = n;
    c.bias = s.bias ? view(mem, s.bias) : null; c.biasOff = s.bias ? s.bias.off : 0; c.activation = s.activation;
    const gemm = gemmFor(mem, layout, s.node);
    for (let t = Math.floor(start / m); t * m < end; t++) {
      const tb = sharedB ? 0 : t;
      // b: packed at compile (one per batch, or one shared), else packed now into the scratch.
      if (s.bPacked) c.bOff = s.b.off + tb * onePacked(k, n, layout);
      else {
        layout.packB(scratch, 0, k, n, view(mem, s.b), s.b.off + tb * k * n, transposeB ? k : n, transposeB);
        c.bOff = 0;
      }
      c.aOff = s.a.off + t * m * k;
      c.cOff = s.y.off + t * m * n;
      c.rowStart = Math.max(start - t * m, 0);
      c.rowEnd = Math.min(end - t * m, m);
      gemm.run(c);
    }
    releaseGemmCall(c);
  },
};
