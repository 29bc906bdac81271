import {
  attrsOf, FLOAT32_MAX, matmul as matmulSpec, matmulGeometry, STRASSEN_PANEL_ROWS, strassenAlgorithm, strassenEligible, strassenRows,
  type Activation, type MatmulAttrs, type MatmulGeometry, type Node,
} from '@tessera/core';
import { gemmCall, releaseGemmCall, type GemmLayout } from '../kernels/index.js';
import { packedLeavesSize, packStrassenB, strassenPanel, strassenScratchSize, type StrassenShape } from '../kernels/strassen.js';
import { wasmElementwiseFor } from '../kernels/wasm/elementwise.js';
import { view, type AlgorithmMode, type CpuKernel, type Memory, type PrepareContext, type Ref, type Step } from '../program.js';
import { epilogueAfter, gemmFor, gemmLayout, stepLayout } from './gemm-for.js';

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
  return byColumns(step, layout) ?? (constB && byStrassen(step, layout, constB.data, ctx)) ?? step;
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

/**
 * A matmul run as Strassen-Winograd (kernels/strassen.ts): units are panels of
 * STRASSEN_PANEL_ROWS rows (all batches' rows: b is shared), each run on its own; b is packed
 * twice, as the direct GEMM's operand (`b`: the rows past a multiple of 2^levels, and any panel
 * with a result that is not finite) and as the leaf operands (`leaves`).
 */
export interface MatmulStrassenStep extends MatmulStep {
  readonly shape: StrassenShape;
  readonly leaves: Ref;
}

/** Levels a Strassen matmul runs at most (a third was no faster than two, with a larger error). */
export const STRASSEN_MAX_LEVELS = 2;
/** 'auto': the least k and n of a leaf product, where the GEMM is at its peak and in cache. */
export const STRASSEN_MIN_LEAF = 256;
/** 'auto': the largest b (floats): its leaf operands take 3.1x its memory at two levels. */
export const STRASSEN_MAX_B_FLOATS = 4 * 1024 * 1024;

/**
 * The levels a matmul runs with: 0 (direct) unless Strassen is eligible (core's
 * `strassenEligible`) on the wasm GEMM with a constant b whose leaf sums stay finite (a leaf
 * operand sums at most 4 blocks a level; a NaN or Inf in b: direct). 'always': as many levels as
 * are eligible, up to STRASSEN_MAX_LEVELS. 'auto': the levels measured faster
 * (benchmarks/kernels-micro.ts `strassen`, panels of 512 rows, same-run ratios on one core:
 * 1024 x 1024 two levels 1.19-1.23x, 512 x 512 one level 1.13x, 256 x 256 one level 1.06x):
 * leaf products of at least STRASSEN_MIN_LEAF in k and n, at least 64 rows per leaf, and b no
 * larger than STRASSEN_MAX_B_FLOATS.
 */
export function strassenLevelsFor(g: MatmulGeometry, mode: AlgorithmMode, layout: GemmLayout, b: Float32Array): number {
  if (mode === 'off' || layout.path !== 'wasm') return 0;
  const rows = Math.min(STRASSEN_PANEL_ROWS, g.batch * g.m);
  const pays = (l: number) => (g.k >> l) >= STRASSEN_MIN_LEAF && (g.n >> l) >= STRASSEN_MIN_LEAF && rows >> l >= 64 && g.k * g.n <= STRASSEN_MAX_B_FLOATS;
  let levels = 0;
  for (let l = 1; l <= STRASSEN_MAX_LEVELS && strassenEligible(g, l) && rows >> l >= 1; l++) if (mode === 'always' || pays(l)) levels = l;
  if (levels === 0) return 0;
  let max = 0;
  for (const v of b) max = Math.max(max, Math.abs(v));
  return max < FLOAT32_MAX / 4 ** levels ? levels : 0;
}

function byStrassen(step: MatmulStep, layout: GemmLayout, b: Float32Array, ctx: PrepareContext): MatmulStrassenStep | null {
  const { g } = step;
  const levels = strassenLevelsFor(g, ctx.strassen ?? 'off', layout, b);
  if (levels === 0) return null;
  const shape: StrassenShape = { k: g.k, n: g.n, levels };
  const rows = g.batch * g.m;
  const leaves = ctx.reserveWeights(packedLeavesSize(layout, shape), (dst, off) => packStrassenB(layout, shape, b, 0, g.transposeB ? g.k : g.n, g.transposeB, dst, off));
  return {
    ...step,
    kernel: 'matmul_strassen',
    algorithm: strassenAlgorithm(levels),
    units: Math.ceil(rows / STRASSEN_PANEL_ROWS),
    costPerUnit: Math.min(STRASSEN_PANEL_ROWS, rows) * g.k * g.n * (7 / 8) ** levels,
    shape,
    leaves,
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

export const matmulStrassenKernel: CpuKernel<MatmulStrassenStep> = {
  op: 'matmul_strassen',
  prepare(node) {
    throw new Error(`node '${node.name}' (${node.op}): matmul_strassen steps are made by the matmul / fused_matmul kernels, not from a node`);
  },
  scratchSize: (s) => strassenScratchSize(s.shape, Math.min(STRASSEN_PANEL_ROWS, s.g.batch * s.g.m)),
  run(s, mem, start, end, scratch) {
    const rows = s.g.batch * s.g.m;
    const { k, n, levels } = s.shape;
    const a = view(mem, s.a);
    const y = view(mem, s.y);
    const gemm = gemmFor(mem, stepLayout(s), s.node);
    const ew = wasmElementwiseFor(mem, a, y, scratch);
    if (!ew) throw new Error(`step '${s.node}' runs Strassen, whose additions need the wasm element-wise kernels on its memory`);
    for (let panel = start; panel < end; panel++) {
      const r0 = panel * STRASSEN_PANEL_ROWS;
      const r1 = Math.min(rows, r0 + STRASSEN_PANEL_ROWS);
      const sr = strassenRows(rows, r0, levels);
      const ok = sr > 0 && strassenPanel({
        gemm, ew, shape: s.shape, a, aOff: s.a.off + r0 * k, c: y, cOff: s.y.off + r0 * n, rows: sr,
        leaves: mem.weights, leavesOff: s.leaves.off, scratch, scratchOff: 0,
      });
      if (ok) strassenEpilogue(s, mem, r0, r0 + sr);
      // The rows past a multiple of 2^levels, or the whole panel if a result was not finite: directly.
      const direct = ok ? r0 + sr : r0;
      if (direct < r1) matmulKernel.run(s, mem, direct, r1, scratch);
    }
  },
};

/** Rows [r0, r1) of a Strassen step's output: + bias, then the activation, as the GEMM's own epilogue does. */
function strassenEpilogue(s: MatmulStep, mem: Memory, r0: number, r1: number): void {
  const { n } = s.g;
  const bias = s.bias && { data: view(mem, s.bias), off: s.bias.off, period: n };
  epilogueAfter(mem, view(mem, s.y), s.y.off + r0 * n, (r1 - r0) * n, bias, s.activation);
}
