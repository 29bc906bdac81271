/**
 * Single-precision GEMM over Float32Array + offsets.
 *
 *   C[rowStart..rowEnd, 0..N) = act(op(A) * op(B)  (+ bias[n]) (+ residual))
 *
 * Structure (Goto/BLIS style, scalar JS):
 *   - B is packed into column panels of NR columns; a panel holds all K rows,
 *     NR floats per row, contiguous ("k-major"). Constant weights are packed
 *     once at compile time, runtime operands on the fly into scratch (`packBInto`).
 *   - A is packed per (MC x KC) block into row panels of MR rows, MR floats
 *     per k, so the micro-kernel reads both operands with unit stride.
 *   - The micro-kernel keeps an MR x NR = 4 x 3 tile of accumulators in local
 *     variables (12 locals: measured faster than 16, which spill).
 *
 * Determinism across row splits: the arithmetic for one C element only
 * depends on K and KC (the k-blocks are summed in order in float32 arithmetic,
 * exactly as the wasm SIMD kernel does, and added to the float32 C value), never on
 * which rows or row blocks are computed together: the 1-row kernel used for
 * leftover rows performs the same operations in the same order as the 4-row
 * one, and JS never fuses a*b+c into an FMA. So any partition of [0, M) into
 * row ranges gives bit-identical results.
 *
 * C must not overlap A or B.
 */

import { im2col } from './conv2d.js';
import { checkGemmCall, epilogueOnly, epilogueRows, hasEpilogue, type Gemm, type GemmCall, type GemmLayout } from './gemm-call.js';

/** Rows per register tile. */
export const GEMM_MR = 4;
/** Columns per register tile (= columns per packed B panel). */
export const GEMM_NR = 3;
/**
 * Maximum k-block depth: one packed-A block is at most MC x KC floats. The
 * k-blocks (hence the summation order) must be the same in every GEMM that
 * should give the same bits: the wasm kernel uses GEMM_KC too.
 */
export const GEMM_KC = 256;
const KC = GEMM_KC;
/** Rows per packed-A block; a multiple of MR. */
const MC = 128;
/** Columns per macro block; a multiple of NR. */
const NC = 384;

/**
 * The packed-B layout of a micro-kernel `width` columns wide: op(B) (K x N) as column panels of
 * all K rows, the last panel zero-padded so the micro-kernel needs no column edge case.
 * Not transposed: B[k][n] = b[bOff + k*ldb + n]; transposed: b[bOff + n*ldb + k].
 */
export function panelLayout(width: number): Pick<GemmLayout, 'packedBSize' | 'packB'> {
  return {
    packedBSize: (K, N) => K * Math.ceil(N / width) * width,
    packB: (dst, dstOff, K, N, b, bOff, ldb, transB) => packPanelsInto(width, dst, dstOff, K, N, b, bOff, ldb, transB),
  };
}

const jsPanels = panelLayout(GEMM_NR);
/** Floats `packBInto` writes for a K x N matrix. */
export const packedBSize = jsPanels.packedBSize;
/** Packs op(B) for the JS micro-kernel (GEMM_NR-column panels). */
export const packBInto = jsPanels.packB;

/**
 * Packs op(B) (K x N) into column panels `width` wide (the JS and the wasm micro-kernels use
 * different widths), zero-padding the last panel.
 */
export function packPanelsInto(
  width: number, dst: Float32Array, dstOff: number,
  K: number, N: number, b: Float32Array, bOff: number, ldb: number, transB: boolean,
): void {
  const panels = Math.ceil(N / width);
  let o = dstOff;
  for (let j = 0; j < panels; j++) {
    const n0 = j * width;
    const nr = Math.min(width, N - n0);
    if (!transB) {
      let src = bOff + n0;
      for (let k = 0; k < K; k++, src += ldb) {
        let jj = 0;
        for (; jj < nr; jj++) dst[o++] = b[src + jj];
        for (; jj < width; jj++) dst[o++] = 0;
      }
    } else {
      for (let k = 0; k < K; k++) {
        let src = bOff + n0 * ldb + k;
        let jj = 0;
        for (; jj < nr; jj++, src += ldb) dst[o++] = b[src];
        for (; jj < width; jj++) dst[o++] = 0;
      }
    }
  }
}

/** Packs op(B) into a fresh buffer (for constant weights, done once). */
export function packB(K: number, N: number, b: Float32Array, bOff: number, ldb: number, transB: boolean): Float32Array {
  const dst = new Float32Array(packedBSize(K, N));
  packBInto(dst, 0, K, N, b, bOff, ldb, transB);
  return dst;
}

// Per-thread scratch for the packed A block; kernels are synchronous so one
// buffer per JS realm (main thread or worker) is enough.
const packedA = new Float32Array(MC * KC);
// Accumulators of an edge tile, handed to the bounds-checked store.
const tile = new Float64Array(GEMM_MR * GEMM_NR);

/**
 * Packs rows [i0, i0+mc) x k-range [p0, p0+kc) of op(A) into `packedA` as
 * MR-row panels (MR floats per k). Rows past mc are zero-filled.
 */
function packA(
  a: Float32Array, aOff: number, lda: number, transA: boolean,
  i0: number, mc: number, p0: number, kc: number,
): void {
  const dst = packedA;
  let panelOff = 0;
  for (let ir = 0; ir < mc; ir += GEMM_MR, panelOff += kc * GEMM_MR) {
    const mr = Math.min(GEMM_MR, mc - ir);
    if (!transA) {
      // Rows are contiguous in memory: read each row, scatter with stride MR.
      for (let r = 0; r < GEMM_MR; r++) {
        let o = panelOff + r;
        if (r < mr) {
          let src = aOff + (i0 + ir + r) * lda + p0;
          for (let p = 0; p < kc; p++, o += GEMM_MR) dst[o] = a[src++];
        } else {
          for (let p = 0; p < kc; p++, o += GEMM_MR) dst[o] = 0;
        }
      }
    } else {
      // A is stored K x M: the MR values of one k are adjacent.
      let src = aOff + p0 * lda + i0 + ir;
      let o = panelOff;
      for (let p = 0; p < kc; p++, src += lda) {
        let r = 0;
        for (; r < mr; r++) dst[o++] = a[src + r];
        for (; r < GEMM_MR; r++) dst[o++] = 0;
      }
    }
  }
}

// Every product and every sum is rounded to float32 (Math.fround; double rounding is innocuous
// since 53 >= 2*24+2), exactly what f32x4.mul / f32x4.add compute: the JS and wasm paths give the
// same bits.
const fr = Math.fround;

/**
 * 4x3 register tile: C_tile (=|+=) sum over kc of A_panel x B_panel.
 * `ap` / `bp` index the start of the packed A / B micro-panels; `cOff` is
 * C[i][n0]. The first k-block stores, later ones add to the float32 value.
 * Full tiles store straight from the locals; column-edge tiles (nr < NR)
 * go through `tile` and a bounds-checked loop, which is rare.
 */
function microKernel4x3(
  kc: number, pa: Float32Array, ap: number, pb: Float32Array, bp: number,
  c: Float32Array, cOff: number, ldc: number, nr: number, first: boolean,
): void {
  let c00 = 0, c01 = 0, c02 = 0;
  let c10 = 0, c11 = 0, c12 = 0;
  let c20 = 0, c21 = 0, c22 = 0;
  let c30 = 0, c31 = 0, c32 = 0;
  for (let p = 0; p < kc; p++) {
    const b0 = pb[bp], b1 = pb[bp + 1], b2 = pb[bp + 2];
    const a0 = pa[ap], a1 = pa[ap + 1], a2 = pa[ap + 2], a3 = pa[ap + 3];
    c00 = fr(c00 + fr(a0 * b0)); c01 = fr(c01 + fr(a0 * b1)); c02 = fr(c02 + fr(a0 * b2));
    c10 = fr(c10 + fr(a1 * b0)); c11 = fr(c11 + fr(a1 * b1)); c12 = fr(c12 + fr(a1 * b2));
    c20 = fr(c20 + fr(a2 * b0)); c21 = fr(c21 + fr(a2 * b1)); c22 = fr(c22 + fr(a2 * b2));
    c30 = fr(c30 + fr(a3 * b0)); c31 = fr(c31 + fr(a3 * b1)); c32 = fr(c32 + fr(a3 * b2));
    ap += 4;
    bp += 3;
  }
  if (nr === 3) {
    const o0 = cOff, o1 = o0 + ldc, o2 = o1 + ldc, o3 = o2 + ldc;
    if (first) {
      c[o0] = c00; c[o0 + 1] = c01; c[o0 + 2] = c02;
      c[o1] = c10; c[o1 + 1] = c11; c[o1 + 2] = c12;
      c[o2] = c20; c[o2 + 1] = c21; c[o2 + 2] = c22;
      c[o3] = c30; c[o3 + 1] = c31; c[o3 + 2] = c32;
    } else {
      c[o0] += c00; c[o0 + 1] += c01; c[o0 + 2] += c02;
      c[o1] += c10; c[o1 + 1] += c11; c[o1 + 2] += c12;
      c[o2] += c20; c[o2 + 1] += c21; c[o2 + 2] += c22;
      c[o3] += c30; c[o3 + 1] += c31; c[o3 + 2] += c32;
    }
    return;
  }
  const t = tile;
  t[0] = c00; t[1] = c01; t[2] = c02;
  t[3] = c10; t[4] = c11; t[5] = c12;
  t[6] = c20; t[7] = c21; t[8] = c22;
  t[9] = c30; t[10] = c31; t[11] = c32;
  storeEdgeTile(c, cOff, ldc, GEMM_MR, nr, first);
}

/**
 * One row of a tile (for the last mr < MR rows of a block, e.g. GEMV with
 * M = 1, where the 4-row kernel would waste 3/4 of its work on zero rows).
 * Reads row r of a packed A panel (stride MR). Same summation order as the
 * 4x3 kernel, so a row's result does not depend on which kernel computed it.
 */
function microKernel1x3(
  kc: number, pa: Float32Array, ap: number, pb: Float32Array, bp: number,
  c: Float32Array, cOff: number, nr: number, first: boolean,
): void {
  let c0 = 0, c1 = 0, c2 = 0;
  for (let p = 0; p < kc; p++) {
    const a0 = pa[ap];
    c0 = fr(c0 + fr(a0 * pb[bp])); c1 = fr(c1 + fr(a0 * pb[bp + 1])); c2 = fr(c2 + fr(a0 * pb[bp + 2]));
    ap += 4;
    bp += 3;
  }
  tile[0] = c0; tile[1] = c1; tile[2] = c2;
  storeEdgeTile(c, cOff, 0, 1, nr, first);
}

/** Stores the valid mr x nr part of `tile` (same arithmetic as the full-tile path). */
function storeEdgeTile(c: Float32Array, cOff: number, ldc: number, mr: number, nr: number, first: boolean): void {
  for (let r = 0; r < mr; r++, cOff += ldc) {
    for (let j = 0; j < nr; j++) {
      const v = tile[r * GEMM_NR + j];
      c[cOff + j] = first ? v : c[cOff + j] + v;
    }
  }
}

/** The TypeScript GEMM (any Float32Array): GEMM_NR-column panels, GEMM_MR-row tiles. */
export const jsGemm: Gemm = {
  path: 'js',
  mr: GEMM_MR,
  nr: GEMM_NR,
  packedBSize,
  packB: packBInto,
  run: gemm,
  im2col,
};

/** Runs one call (see GemmCall) with B packed by `packBInto`. */
export function gemm(call: GemmCall): void {
  const { N, K, rowStart, rowEnd } = call;
  if (!checkGemmCall(call, packedBSize(K, N))) return;
  if (K === 0) {
    epilogueOnly(call);
    return;
  }
  // Equal k-blocks of at most KC (576 -> 3 x 192, not 256+256+64): no short tail block whose
  // per-tile overhead is poorly amortized. Depends on K only, so the summation order stays
  // independent of the row range.
  const kcMax = Math.ceil(K / Math.ceil(K / KC));
  for (let jc = 0; jc < N; jc += NC) {
    const nc = Math.min(NC, N - jc);
    for (let pc = 0; pc < K; pc += kcMax) {
      const kc = Math.min(kcMax, K - pc);
      for (let ic = rowStart; ic < rowEnd; ic += MC) blockTimesPanels(call, ic, Math.min(MC, rowEnd - ic), jc, nc, pc, kc);
    }
  }
}

/**
 * C rows [ic, ic+mc) x columns [jc, jc+nc) for the k-block [pc, pc+kc): the first k-block
 * stores, later ones add; the last applies the epilogue while the block is in cache.
 */
function blockTimesPanels(call: GemmCall, ic: number, mc: number, jc: number, nc: number, pc: number, kc: number): void {
  const { K, c, cOff, ldc } = call;
  const first = pc === 0;
  packA(call.a, call.aOff, call.lda, call.transA, ic, mc, pc, kc);
  const panelStride = K * GEMM_NR; // floats per packed B panel
  // B micro-panel (kc x NR) outermost so it stays in L1 across the A panels of this block.
  let bp = call.bOff + (jc / GEMM_NR) * panelStride + pc * GEMM_NR;
  for (let jr = 0; jr < nc; jr += GEMM_NR, bp += panelStride) {
    const nr = Math.min(GEMM_NR, nc - jr);
    let ap = 0;
    let cRow = cOff + ic * ldc + jc + jr;
    let ir = 0;
    for (; ir + GEMM_MR <= mc; ir += GEMM_MR, ap += kc * GEMM_MR, cRow += GEMM_MR * ldc) {
      microKernel4x3(kc, packedA, ap, call.b, bp, c, cRow, ldc, nr, first);
    }
    for (let r = 0; ir + r < mc; r++) microKernel1x3(kc, packedA, ap + r, call.b, bp, c, cRow + r * ldc, nr, first);
  }
  // The last k-block: the epilogue (bias, residual, activation) on the block while it is in cache.
  if (pc + kc === K && hasEpilogue(call)) epilogueRows(call, ic, mc, jc, nc);
}
