/**
 * The one GEMM interface the cpu ops call: `Gemm`, implemented in TypeScript (`jsGemm`, any
 * Float32Array) and in WebAssembly SIMD (`WasmGemm`, views of one WebAssembly.Memory). Both give
 * the same bits for the same call; they differ in the packed-B layout (`GemmLayout`), which a
 * program fixes at compile time.
 */
import type { Activation } from '@tessera/core';
import type { Conv2dGeometry } from './conv2d.js';

/** Which GEMM a program's conv2d / matmul steps are compiled for (it fixes the packed layout). */
export type GemmPath = 'js' | 'wasm';

/**
 * One call: C[rowStart..rowEnd, 0..N) = act(op(A) * B (+ bias[biasOff + n]) (+ R[i][n])), B packed
 * in the layout of the Gemm that runs it; each addition rounds to float32 in that order (the
 * residual R[i][n] = residual[residualOff + i*ldc + n], output-shaped like C). op(A)[i][k] = transA ? a[aOff + k*lda + i] :
 * a[aOff + i*lda + k]; C[i][n] = c[cOff + i*ldc + n]; C must not overlap A or B. Only rows
 * [rowStart, rowEnd) of op(A) and C are read or written (so aOff or cOff alone may be negative).
 * A mutable parameter object: a caller fills one it keeps (`gemmCall()`), so a call allocates
 * nothing.
 */
export interface GemmCall {
  M: number;
  N: number;
  K: number;
  a: Float32Array;
  aOff: number;
  lda: number;
  transA: boolean;
  /** op(B) packed by the running Gemm's `packB`, from b[bOff]. */
  b: Float32Array;
  bOff: number;
  c: Float32Array;
  cOff: number;
  ldc: number;
  bias: Float32Array | null;
  biasOff: number;
  /** Added after the bias, before the activation (a ResNet shortcut); must not overlap C. */
  residual: Float32Array | null;
  residualOff: number;
  activation: Activation;
  rowStart: number;
  rowEnd: number;
}

/** An empty array: what a reusable call holds between calls (so it keeps no memory alive). */
export const EMPTY = new Float32Array(0);

/** A call to fill and reuse (zero-sized, no epilogue). */
export function gemmCall(): GemmCall {
  return {
    M: 0, N: 0, K: 0, a: EMPTY, aOff: 0, lda: 0, transA: false, b: EMPTY, bOff: 0,
    c: EMPTY, cOff: 0, ldc: 0, bias: null, biasOff: 0, residual: null, residualOff: 0, activation: 'none', rowStart: 0, rowEnd: 0,
  };
}

/** Drops a call's operands once it has run, so that it keeps no memory alive. */
export function releaseGemmCall(call: GemmCall): void {
  call.a = call.b = call.c = EMPTY;
  call.bias = call.residual = null;
}

/** How a GEMM wants its right-hand operand: the packed layout and the register-tile rows. */
export interface GemmLayout {
  readonly path: GemmPath;
  /** Rows per register tile: im2col chunks are a multiple of it, so only the last has an edge tile. */
  readonly mr: number;
  /** Columns per packed panel: a panel holds K x nr floats, panels back to back, so columns [j nr, N) start at float j nr K. */
  readonly nr: number;
  /** Floats `packB` writes for a K x N matrix. */
  packedBSize(K: number, N: number): number;
  /**
   * Packs op(B) (K x N) into dst[dstOff ..+ packedBSize(K, N)): not transposed, B[k][n] =
   * b[bOff + k*ldb + n]; transposed, b[bOff + n*ldb + k]. dstOff a multiple of 4.
   */
  packB(dst: Float32Array, dstOff: number, K: number, N: number, b: Float32Array, bOff: number, ldb: number, transB: boolean): void;
}

/** A GEMM implementation, chosen once per memory (`Memory.gemm`). */
export interface Gemm extends GemmLayout {
  run(call: GemmCall): void;
  /**
   * The receptive fields of output pixels [r0, r1) as rows of kH*kW*inC floats (order kh, kw,
   * c, +0 for padding) into dst[dstOff..]: the im2col a convolution on this GEMM runs.
   */
  im2col(g: Conv2dGeometry, x: Float32Array, xOff: number, dst: Float32Array, dstOff: number, r0: number, r1: number): void;
}

/**
 * Validates a call against its buffers (every element it may touch exists); returns false when
 * there is nothing to compute (no rows or no columns).
 */
export function checkGemmCall(call: GemmCall, packedBSize: number): boolean {
  const { M, N, K, a, aOff, lda, transA, c, cOff, ldc, bias, biasOff, rowStart, rowEnd } = call;
  if (!(0 <= rowStart && rowStart <= rowEnd && rowEnd <= M)) throw new RangeError(`gemm: bad row range [${rowStart}, ${rowEnd}) for M=${M}`);
  if (rowStart === rowEnd || N === 0) return false;
  if (cOff + rowStart * ldc < 0 || cOff + (rowEnd - 1) * ldc + N > c.length) throw new RangeError('gemm: C outside its buffer');
  if (bias !== null && (biasOff < 0 || biasOff + N > bias.length)) throw new RangeError('gemm: bias outside its buffer');
  const { residual, residualOff } = call;
  if (residual !== null && (residualOff + rowStart * ldc < 0 || residualOff + (rowEnd - 1) * ldc + N > residual.length)) {
    throw new RangeError('gemm: residual outside its buffer');
  }
  if (K === 0) return true;
  const aFirst = transA ? aOff + rowStart : aOff + rowStart * lda;
  const aLast = transA ? aOff + (K - 1) * lda + rowEnd : aOff + (rowEnd - 1) * lda + K;
  if (aFirst < 0 || aLast > a.length) throw new RangeError('gemm: A outside its buffer');
  if (call.bOff < 0 || call.bOff + packedBSize > call.b.length) throw new RangeError('gemm: packed B outside its buffer');
  return true;
}

/** True when the call has an epilogue (bias, residual or activation). */
export function hasEpilogue(call: GemmCall): boolean {
  return call.bias !== null || call.residual !== null || call.activation !== 'none';
}

/**
 * The epilogue on C rows [r0, r0 + rows) x columns [n0, n0 + cols), in place: + bias[n], then
 * + residual, each rounded to float32 (the Float32Array store), then the activation. Row by row
 * while the block is in cache; one loop per part, so the inner loops carry no per-element flags.
 * `bias` false skips it (the wasm GEMM added it already).
 */
export function epilogueRows(call: GemmCall, r0: number, rows: number, n0: number, cols: number, bias = true): void {
  const { c, ldc, residual, activation } = call;
  const b = bias ? call.bias : null;
  let o = call.cOff + r0 * ldc + n0;
  let ro = call.residualOff + r0 * ldc + n0;
  const bo = call.biasOff + n0;
  for (let i = 0; i < rows; i++, o += ldc, ro += ldc) {
    if (b !== null) for (let j = 0; j < cols; j++) c[o + j] += b[bo + j];
    if (residual !== null) for (let j = 0; j < cols; j++) c[o + j] += residual[ro + j];
    // `v <= 0` is false for NaN (kept), true for -0 (relu gives +0); `v > 6` is false for NaN too.
    if (activation === 'relu') {
      for (let j = 0; j < cols; j++) if (c[o + j] <= 0) c[o + j] = 0;
    } else if (activation === 'relu6') {
      for (let j = 0; j < cols; j++) {
        const v = c[o + j];
        if (v <= 0) c[o + j] = 0;
        else if (v > 6) c[o + j] = 6;
      }
    }
  }
}

/** K = 0: the product is all zeros, only the epilogue contributes (0 + bias, + residual, then the activation). */
export function epilogueOnly(call: GemmCall): void {
  const { N, c, cOff, ldc } = call;
  for (let i = call.rowStart; i < call.rowEnd; i++) c.fill(0, cOff + i * ldc, cOff + i * ldc + N);
  epilogueRows(call, call.rowStart, call.rowEnd - call.rowStart, 0, N);
}
