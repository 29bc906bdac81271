/**
 * 2-D convolution on the wasm GEMM: the same im2col chunking as the JS
 * `conv2d` (../conv2d.ts), with chunks of a multiple of WASM_MR rows. x, y,
 * the scratch and the packed filter must be views of the GEMM's memory.
 */
import { conv2dChunked, conv2dScratchSize, type Conv2dGeometry } from '../conv2d.js';
import type { GemmEpilogue, PackedB } from '../gemm.js';
import { WASM_MR, type WasmGemm } from './gemm.js';

/** Floats of im2col scratch `conv2dWasm` needs for output rows [rowStart, rowEnd). */
export function conv2dWasmScratchSize(g: Conv2dGeometry, rowStart: number, rowEnd: number): number {
  return conv2dScratchSize(g, rowStart, rowEnd, WASM_MR);
}

/** y[rows rowStart..rowEnd) = conv(x, w) (+bias)(relu); w packed by `packBWasmInto`. */
export function conv2dWasm(
  wasm: WasmGemm,
  g: Conv2dGeometry,
  x: Float32Array, xOff: number,
  w: PackedB,
  y: Float32Array, yOff: number,
  epilogue: GemmEpilogue | undefined,
  scratch: Float32Array | undefined, scratchOff: number,
  rowStart: number, rowEnd: number,
): void {
  const K = g.kH * g.kW * g.inC;
  const N = g.outC;
  if (w.K !== K || w.N !== N) throw new RangeError(`conv2d: packed filter is ${w.K}x${w.N}, expected ${K}x${N}`);
  const run = (M: number, a: Float32Array, aOff: number, lda: number, cOff: number, r0: number, r1: number): void =>
    wasm.gemm(M, N, K, a, aOff, lda, false, w, y, cOff, N, epilogue, r0, r1);
  // The im2col in WebAssembly where x and the scratch are in its memory: the JS one allocates a
  // view per copied run (slow phases while V8 has not optimized them away) and copies with
  // relaxed atomics on a shared memory (worker threads), several times slower than this.
  const inWasm = scratch !== undefined && wasm.owns(x) && wasm.owns(scratch);
  conv2dChunked(g, x, xOff, yOff, scratch, scratchOff, rowStart, rowEnd, WASM_MR, run,
    inWasm ? (r0, r1) => wasm.im2col(g, x, xOff, scratch, scratchOff, r0, r1) : undefined);
}
