/**
 * 2-D convolution, NHWC input, HWIO filter, NHWC output (TensorFlow layout).
 *
 * The output is viewed as a matrix of M = batch*outH*outW rows (pixels) by
 * outC columns, and the filter as a [kH*kW*inC, outC] matrix packed once by
 * the GEMM that runs it (`Gemm.packB`). Work is split by output rows [rowStart, rowEnd) so several threads
 * can share one convolution.
 */
import type { Activation } from '@tessera/core';
import { EMPTY, gemmCall, releaseGemmCall, type Gemm } from './gemm-call.js';

/**
 * Shape of a 2-D window operation (conv2d, pooling). Padding is already
 * resolved: padTop/padLeft rows/columns of zeros precede the input; the
 * bottom/right padding is implicit (taps past the input read as padding).
 */
export interface Conv2dGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  kH: number;
  kW: number;
  outC: number;
  outH: number;
  outW: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padTop: number;
  padLeft: number;
}

/**
 * im2col chunk size: aim for CHUNK_FLOATS floats (128 KiB, stays in L2 while
 * the GEMM packs it) but never fewer than MIN_CHUNK_ROWS rows, because every
 * chunk streams the whole packed filter once: too few rows per chunk and the
 * filter of a deep layer (large K*outC) is re-read from memory too often.
 */
const CHUNK_FLOATS = 32 * 1024;
const MIN_CHUNK_ROWS = 64;
const MAX_CHUNK_ROWS = 256;

/**
 * The input images that output pixels [r0, r1) of a window op read: images [first, end), of
 * `floats` floats each; `firstRow` is the first output pixel of image `first` (a kernel addressing
 * from that image numbers its rows from there). A kernel checks and addresses only those images,
 * so its input offset alone may be negative (backend-workers' chain tiles move it so that the
 * images land in a tile).
 */
export function imagesOfRows(g: Conv2dGeometry, r0: number, r1: number): {
  readonly first: number; readonly end: number; readonly floats: number; readonly firstRow: number;
} {
  const ohw = g.outH * g.outW;
  const first = Math.floor(r0 / ohw);
  return { first, end: Math.ceil(r1 / ohw), floats: g.inH * g.inW * g.inC, firstRow: first * ohw };
}

/** True when the input already is the im2col matrix (1x1, stride 1, no padding): output pixel r reads input pixel r only. */
export function isPointwise(g: Conv2dGeometry): boolean {
  return g.kH === 1 && g.kW === 1 && g.strideH === 1 && g.strideW === 1 &&
    g.padTop === 0 && g.padLeft === 0 && g.outH === g.inH && g.outW === g.inW;
}

/**
 * Rows per im2col chunk: a multiple of the GEMM's register-tile rows `mr`
 * so only the last chunk has an edge tile.
 */
function chunkRows(K: number, mr: number): number {
  const rows = Math.floor(CHUNK_FLOATS / Math.max(K, 1) / mr) * mr;
  return Math.min(Math.floor(MAX_CHUNK_ROWS / mr) * mr, Math.max(Math.ceil(MIN_CHUNK_ROWS / mr) * mr, rows));
}

/**
 * Floats of im2col scratch `conv2d` needs for output rows [rowStart, rowEnd); 0 if none.
 * `mr`: register-tile rows of the GEMM that will run (`Gemm.mr`).
 */
export function conv2dScratchSize(g: Conv2dGeometry, rowStart: number, rowEnd: number, mr: number): number {
  if (isPointwise(g) || rowEnd <= rowStart) return 0;
  const K = g.kH * g.kW * g.inC;
  return Math.min(rowEnd - rowStart, chunkRows(K, mr)) * K;
}

/**
 * One convolution call: y[rows rowStart..rowEnd) = act(conv(x, w) (+ bias) (+ residual)), the
 * residual output-shaped at residualOff (GemmCall's epilogue). x: [batch, inH,
 * inW, inC] at xOff; y: [batch, outH, outW, outC] at yOff; w: the filter [kH, kW, inC, outC] as a
 * (kH*kW*inC) x outC matrix packed by the running GEMM, at wOff; scratch holds
 * conv2dScratchSize(g, rowStart, rowEnd, gemm.mr) floats at scratchOff. A parameter object a
 * caller fills and reuses, like GemmCall.
 */
export interface ConvCall extends ConvOperands {
  g: Conv2dGeometry;
  rowStart: number;
  rowEnd: number;
}

/** A convolution's arrays (with element offsets) and epilogue: what ConvCall and WinogradCall share. */
export interface ConvOperands {
  x: Float32Array;
  xOff: number;
  w: Float32Array;
  wOff: number;
  y: Float32Array;
  yOff: number;
  bias: Float32Array | null;
  biasOff: number;
  residual: Float32Array | null;
  residualOff: number;
  activation: Activation;
  scratch: Float32Array;
  scratchOff: number;
}

const NO_GEOMETRY: Conv2dGeometry = {
  batch: 0, inH: 0, inW: 0, inC: 0, kH: 0, kW: 0, outC: 0, outH: 0, outW: 0,
  strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 0, padLeft: 0,
};

/** A convolution call to fill and reuse (empty). */
export function convCall(): ConvCall {
  return {
    g: NO_GEOMETRY, x: EMPTY, xOff: 0, w: EMPTY, wOff: 0, y: EMPTY, yOff: 0, bias: null, biasOff: 0, residual: null, residualOff: 0, activation: 'none',
    scratch: EMPTY, scratchOff: 0, rowStart: 0, rowEnd: 0,
  };
}

/** Drops a call's operands once it has run, so that it keeps no memory alive. */
export function releaseConvCall(conv: ConvCall): void {
  conv.x = conv.w = conv.y = conv.scratch = EMPTY;
  conv.bias = conv.residual = null;
}

// The GEMM call every convolution fills (kernels are synchronous: one per thread is enough).
const chunk = gemmCall();

/**
 * Runs a convolution on `gemm`: output rows [rowStart, rowEnd) in im2col chunks (a multiple of
 * gemm.mr rows) of the scratch; a pointwise convolution multiplies the input itself.
 */
export function conv2d(gemm: Gemm, conv: ConvCall): void {
  const { g, rowStart, rowEnd, scratch, scratchOff } = conv;
  const M = g.batch * g.outH * g.outW;
  const K = g.kH * g.kW * g.inC;
  if (!(0 <= rowStart && rowStart <= rowEnd && rowEnd <= M)) {
    throw new RangeError(`conv2d: bad row range [${rowStart}, ${rowEnd}) for ${M} output pixels`);
  }
  if (rowStart === rowEnd) return;
  const c = chunk;
  c.N = g.outC; c.K = K; c.transA = false; c.b = conv.w; c.bOff = conv.wOff;
  c.c = conv.y; c.ldc = g.outC; c.bias = conv.bias; c.biasOff = conv.biasOff;
  c.residual = conv.residual; c.activation = conv.activation;
  if (isPointwise(g)) {
    c.M = M; c.a = conv.x; c.aOff = conv.xOff; c.lda = g.inC; c.cOff = conv.yOff; c.residualOff = conv.residualOff; c.rowStart = rowStart; c.rowEnd = rowEnd;
    gemm.run(c);
    releaseGemmCall(c);
    return;
  }
  const need = conv2dScratchSize(g, rowStart, rowEnd, gemm.mr);
  if (scratchOff < 0 || scratchOff + need > scratch.length) throw new RangeError(`conv2d: scratch needs ${need} floats at offset ${scratchOff}`);
  const step = chunkRows(K, gemm.mr);
  c.a = scratch; c.aOff = scratchOff; c.lda = K; c.rowStart = 0;
  for (let r0 = rowStart; r0 < rowEnd; r0 += step) {
    const rows = Math.min(step, rowEnd - r0);
    gemm.im2col(g, conv.x, conv.xOff, scratch, scratchOff, r0, r0 + rows);
    // The chunk is a rows x K matrix; the GEMM result for a pixel does not depend on the chunk
    // it was computed in, so splits stay bit-identical.
    c.M = rows; c.rowEnd = rows; c.cOff = conv.yOff + r0 * g.outC; c.residualOff = conv.residualOff + r0 * g.outC;
    gemm.run(c);
  }
  releaseGemmCall(c);
}

/**
 * Writes the receptive fields of output pixels [r0, r1) as rows of length
 * kH*kW*inC (order kh, kw, c — matching the HWIO filter rows) into dst.
 * Taps in the padding are written as 0.
 */
export function im2col(
  g: Conv2dGeometry, x: Float32Array, xOff: number,
  dst: Float32Array, dstOff: number, r0: number, r1: number,
): void {
  const ohw = g.outH * g.outW;
  // Decompose the first row once, then step (n, oh, ow) incrementally.
  let n = Math.floor(r0 / ohw);
  const rem = r0 - n * ohw;
  let oh = Math.floor(rem / g.outW);
  let ow = rem - oh * g.outW;
  let o = dstOff;
  for (let r = r0; r < r1; r++) {
    o = im2colRow(g, x, xOff, n, oh * g.strideH - g.padTop, ow * g.strideW - g.padLeft, dst, o);
    if (++ow === g.outW) {
      ow = 0;
      if (++oh === g.outH) {
        oh = 0;
        n++;
      }
    }
  }
}

/** One receptive field with top-left input corner (ih0, iw0) of image n; returns the next dst offset. */
function im2colRow(
  g: Conv2dGeometry, x: Float32Array, xOff: number,
  n: number, ih0: number, iw0: number, dst: Float32Array, o: number,
): number {
  const { inH, inW, inC, kH, kW, dilationH, dilationW } = g;
  const rowLen = kW * inC;
  // Whole kernel row inside the input and contiguous: one block copy per kh.
  const spanContiguous = dilationW === 1 && iw0 >= 0 && iw0 + kW <= inW;
  for (let kh = 0, ih = ih0; kh < kH; kh++, ih += dilationH) {
    if (ih < 0 || ih >= inH) {
      dst.fill(0, o, o + rowLen);
      o += rowLen;
      continue;
    }
    const rowBase = xOff + ((n * inH + ih) * inW) * inC;
    if (spanContiguous) {
      o = copyRun(x, rowBase + iw0 * inC, dst, o, rowLen);
      continue;
    }
    for (let kw = 0, iw = iw0; kw < kW; kw++, iw += dilationW) {
      if (iw < 0 || iw >= inW) {
        dst.fill(0, o, o + inC);
        o += inC;
      } else {
        o = copyRun(x, rowBase + iw * inC, dst, o, inC);
      }
    }
  }
  return o;
}

/** Copies len floats; a plain loop beats subarray+set for short runs. */
function copyRun(src: Float32Array, s: number, dst: Float32Array, o: number, len: number): number {
  if (len >= 64) {
    dst.set(src.subarray(s, s + len), o);
    return o + len;
  }
  for (let i = 0; i < len; i++) dst[o++] = src[s + i];
  return o;
}
