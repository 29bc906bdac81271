/**
 * The one GEMM interface the cpu ops call: `Gemm`, implemented in TypeScript (`jsGemm`, any
 * Float32Array) and in WebAssembly SIMD (`WasmGemm`, views of one WebAssembly.Memory). Both give
 * the same bits for the same call; they differ in the packed-B layout (`GemmLayout`), which a
 * program fixes at compile time.
 */
import type { Conv2dGeometry } from './conv2d.js';

/** Which GEMM a program's conv2d / matmul steps are compiled for (it fixes the packed layout). */
export type GemmPath = 'js' | 'wasm';

/**
 * One call: C[rowStart..rowEnd, 0..N) = op(A) * B (+ bias[biasOff + n]) (then relu), B packed
 * in the layout of the Gemm that runs it. op(A)[i][k] = transA ? a[aOff + k*lda + i] :
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
  relu: boolean;
  rowStart: number;
  rowEnd: number;
}

/** An empty array: what a reusable call holds between calls (so it keeps no memory alive). */
export const EMPTY = new Float32Array(0);

/** A call to fill and reuse (zero-sized, no epilogue). */
export function gemmCall(): GemmCall {
  return {
    M: 0, N: 0, K: 0, a: EMPTY, aOff: 0, lda: 0, transA: false, b: EMPTY, bOff: 0,
    c: EMPTY, cOff: 0, ldc: 0, bias: null, biasOff: 0, relu: false, rowStart: 0, rowEnd: 0,
  };
}

/** Drops a call's operands once it has run, so that it keeps no memory alive. */
export function releaseGemmCall(call: GemmCall): void {
  call.a = call.b = call.c = EMPTY;
  call.bias = null;
}

/** How a GEMM wants its right-hand operand: the packed layout and the register-tile rows. */
export interface GemmLayout {
  readonly path: GemmPath;
  /** Rows per register tile: im2col chunks are a multiple of it, so only the last has an edge tile. */
  readonly mr: number;
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
  if (K === 0) return true;
  const aFirst = transA ? aOff + rowStart : aOff + rowStart * lda;
  const aLast = transA ? aOff + (K - 1) * lda + rowEnd : aOff + (rowEnd - 1) * lda + K;
  if (aFirst < 0 || aLast > a.length) throw new RangeError('gemm: A outside its buffer');
  if (call.bOff < 0 || call.bOff + packedBSize > call.b.length) throw new RangeError('gemm: packed B outside its buffer');
  return true;
}

/** K = 0: the product is all zeros, only the epilogue contributes (0 + bias, then relu). */
export function epilogueOnly(call: GemmCall): void {
  const { N, c, cOff, ldc, bias, biasOff, relu } = call;
  for (let i = call.rowStart; i < call.rowEnd; i++) {
    const o = cOff + i * ldc;
    for (let n = 0; n < N; n++) {
      const v = bias !== null ? 0 + bias[biasOff + n] : 0;
      c[o + n] = relu && v <= 0 ? 0 : v;
    }
  }
}
