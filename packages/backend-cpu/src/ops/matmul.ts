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
  const step: MatmulStep = {
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
  return byColumns(step, layout) ?? step;
}

/** At most this many rows (all batches) and at least COLUMN_BLOCKS blocks of columns: units are column blocks. */
const FEW_ROWS = 4;
const COLUMN_BLOCKS = 8;
/** Packed panels per column block. */
const PANELS_PER_BLOCK = 4;

/**
 * A matmul on a few rows with a constant b shared by its batches (a dense layer at batch 1) as
 * blocks of columns, so that a scheduler can split it (its rows are too few). Every row of a's
 * contiguous [batch x m, k] is one row of the product; a block runs its packed panels. Each
 * element's sum is the one the row-wise step computes (the GEMM's order depends on K only).
 */
function byColumns(step: MatmulStep, layout: GemmLayout): MatmulColumnsStep | null {
  const { batch, m, k, n, sharedB, transposeA } = step.g;
  const columns = PANELS_PER_BLOCK * layout.nr;
  const units = Math.ceil(n / columns);
  if (!step.bPacked || !sharedB || transposeA || batch * m > FEW_ROWS || units < COLUMN_BLOCKS) return null;
  return { ...step, kernel: 'matmul_columns', units, costPerUnit: batch * m * k * columns, columns };
}

/** A matmul step whose units are blocks of `columns` columns (the last one narrower). */
export interface MatmulColumnsStep extends MatmulStep {
  readonly columns: number;
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

export const matmulColumnsKernel: CpuKernel<MatmulColumnsStep> = {
  op: 'matmul_columns',
  prepare(node) {
    throw new Error(`node '${node.name}' (${node.op}): matmul_columns steps are made by the matmul / fused_matmul kernels, not from a node`);
  },
  run(s, mem, start, end) {
    const { batch, m, k, n } = s.g;
    const layout = stepLayout(s);
    const n0 = start * s.columns;
    const c = call;
    c.M = batch * m; c.N = Math.min(n, end * s.columns) - n0; c.K = k;
    c.a = view(mem, s.a); c.aOff = s.a.off; c.lda = k; c.transA = false;
    // Panels of nr columns, K x nr floats each, back to back: column n0 (a panel's first) starts at n0 x K.
    c.b = mem.weights; c.bOff = s.b.off + n0 * k;
    c.c = view(mem, s.y); c.cOff = s.y.off + n0; c.ldc = n;
    c.bias = s.bias ? view(mem, s.bias) : null; c.biasOff = s.bias ? s.bias.off + n0 : 0; c.activation = s.activation;
    c.rowStart = 0; c.rowEnd = batch * m;
    gemmFor(mem, layout, s.node).run(c);
    releaseGemmCall(c);
  },
};
