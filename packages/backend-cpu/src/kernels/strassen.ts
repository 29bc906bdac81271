/**
 * Strassen-Winograd matrix multiplication on the wasm GEMM: `levels` levels of 2 x 2 blocks, each
 * 7 block products instead of 8 (core's STRASSEN_PRODUCTS), the leaf products on the GEMM against
 * b's leaf operands, formed and packed at compile (b is a constant). The additions of a level run
 * in the element-wise wasm module (`strassen_split`, `strassen_merge`). Rows run in panels of
 * core's STRASSEN_PANEL_ROWS, each panel on its own, so a split by panels gives the same bits.
 */
import { STRASSEN_PRODUCTS } from '@tessera/core';
import { gemmCall, releaseGemmCall, type Gemm, type GemmLayout } from './gemm-call.js';
import type { WasmElementwise } from './wasm/elementwise.js';

/** A matmul's shape as a Strassen multiply sees it: k x n right-hand operand, `levels` levels. */
export interface StrassenShape {
  readonly k: number;
  readonly n: number;
  readonly levels: number;
}

/** Floats of one packed leaf operand (16-float aligned, so every leaf starts aligned). */
export function packedLeafSize(layout: GemmLayout, s: StrassenShape): number {
  return Math.ceil(layout.packedBSize(s.k >> s.levels, s.n >> s.levels) / 16) * 16;
}

/** Floats of b's 7^levels packed leaf operands. */
export const packedLeavesSize = (layout: GemmLayout, s: StrassenShape): number => 7 ** s.levels * packedLeafSize(layout, s);

/**
 * Packs b's leaf operands, depth first in product order, into dst[off..]: each is a signed sum of
 * b's blocks at the leaf size (the coefficients of its products' operands multiplied along its
 * path), summed in float64 and rounded once. b[p][j] = transB ? b[bOff + j ldb + p] : b[bOff + p ldb + j].
 * The caller makes sure every leaf is finite (ops/matmul.ts `strassenLevelsFor`: |b| < FLOAT32_MAX / 4^levels).
 */
export function packStrassenB(
  layout: GemmLayout, s: StrassenShape, b: Float32Array, bOff: number, ldb: number, transB: boolean, dst: Float32Array, off: number,
): void {
  const [kl, nl] = [s.k >> s.levels, s.n >> s.levels];
  const sum = new Float64Array(kl * nl);
  const leaf = new Float32Array(kl * nl);
  const stride = packedLeafSize(layout, s);
  const at = (p: number, j: number): number => (transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j]);
  // Adds coefficient x the block of b at (row, col) of size kl x nl, for every block path below `level`.
  const addBlocks = (path: readonly number[], level: number, coefficient: number, row: number, col: number): void => {
    if (level === s.levels) {
      for (let p = 0; p < kl; p++) for (let j = 0; j < nl; j++) sum[p * nl + j] += coefficient * at(row + p, col + j);
      return;
    }
    const [hk, hn] = [s.k >> (level + 1), s.n >> (level + 1)];
    STRASSEN_PRODUCTS.b[path[level]].forEach((c, q) => {
      if (c !== 0) addBlocks(path, level + 1, coefficient * c, row + (q >> 1) * hk, col + (q & 1) * hn);
    });
  };
  for (let index = 0; index < 7 ** s.levels; index++) {
    const path = Array.from({ length: s.levels }, (_, l) => Math.floor(index / 7 ** (s.levels - 1 - l)) % 7);
    sum.fill(0);
    addBlocks(path, 0, 1, 0, 0);
    leaf.set(sum);
    layout.packB(dst, off + index * stride, kl, nl, leaf, 0, nl, false);
  }
}

/** Floats of a panel's scratch for level l (1..levels): S1..S4 (rows/2^l x k/2^l), then P1..P7 (rows/2^l x n/2^l). */
const levelSize = (s: StrassenShape, rows: number, l: number): number => (rows >> l) * (4 * (s.k >> l) + 7 * (s.n >> l));

/** Floats of scratch one panel of `rows` rows needs: every level's, one after the other. */
export function strassenScratchSize(s: StrassenShape, rows: number): number {
  let size = 0;
  for (let l = 1; l <= s.levels; l++) size += levelSize(s, rows, l);
  return size;
}

/** One panel: C[rows x n] = A[rows x k] B, A at a[aOff] (row stride k), C at c[cOff] (row stride n). */
export interface StrassenPanel {
  readonly gemm: Gemm;
  readonly ew: WasmElementwise;
  readonly shape: StrassenShape;
  readonly a: Float32Array;
  readonly aOff: number;
  readonly c: Float32Array;
  readonly cOff: number;
  /** A multiple of 2^levels. */
  readonly rows: number;
  /** The packed leaf operands (`packStrassenB`). */
  readonly leaves: Float32Array;
  readonly leavesOff: number;
  readonly scratch: Float32Array;
  readonly scratchOff: number;
}

// The GEMM call every leaf fills (kernels are synchronous: one per thread is enough).
const call = gemmCall();

/** Runs one panel, without epilogue; false if an output is not finite (the caller then runs the panel directly). */
export function strassenPanel(p: StrassenPanel): boolean {
  const { shape, gemm, ew, scratch } = p;
  const leafStride = packedLeafSize(gemm, shape);
  let leaf = 0;
  // Where each level's S1..S4 and P1..P7 start in the scratch.
  const levelOff: number[] = [];
  for (let l = 1, off = p.scratchOff; l <= shape.levels; l++) {
    levelOff[l] = off;
    off += levelSize(shape, p.rows, l);
  }
  // C (rows x n at level `level`, row stride ldc) = X (rows x k, row stride ldx) times the next leaves' operand.
  const multiply = (x: Float32Array, xOff: number, ldx: number, rows: number, c: Float32Array, cOff: number, ldc: number, level: number): boolean => {
    const [k, n] = [shape.k >> level, shape.n >> level];
    if (level === shape.levels) {
      call.M = rows; call.N = n; call.K = k; call.a = x; call.aOff = xOff; call.lda = ldx; call.transA = false;
      call.b = p.leaves; call.bOff = p.leavesOff + leaf++ * leafStride; call.c = c; call.cOff = cOff; call.ldc = ldc;
      call.bias = null; call.residual = null; call.activation = 'none'; call.rowStart = 0; call.rowEnd = rows;
      gemm.run(call);
      return false;
    }
    const [hr, hk, hn] = [rows / 2, k / 2, n / 2];
    const sOff = [0, 1, 2, 3].map((i) => levelOff[level + 1] + i * hr * hk);
    const pOff = [0, 1, 2, 3, 4, 5, 6].map((i) => levelOff[level + 1] + 4 * hr * hk + i * hr * hn);
    const blocks = [0, hk, hr * ldx, hr * ldx + hk].map((o) => xOff + o);
    ew.strassenSplit(x, blocks, ldx, scratch, sOff, hk, hr, hk);
    // The products' left operands (STRASSEN_PRODUCTS.a): A11, A12, S4, A22, S1, S2, S3.
    const left: readonly (readonly [Float32Array, number, number])[] = [
      [x, blocks[0], ldx], [x, blocks[1], ldx], [scratch, sOff[3], hk], [x, blocks[3], ldx], [scratch, sOff[0], hk], [scratch, sOff[1], hk], [scratch, sOff[2], hk],
    ];
    left.forEach(([arr, off, ld], i) => multiply(arr, off, ld, hr, scratch, pOff[i], hn, level + 1));
    return ew.strassenMerge(scratch, pOff, hn, c, [0, hn, hr * ldc, hr * ldc + hn].map((o) => cOff + o), ldc, hr, hn);
  };
  const nonFinite = multiply(p.a, p.aOff, shape.k, p.rows, p.c, p.cOff, shape.n, 0);
  releaseGemmCall(call);
  return !nonFinite;
}
