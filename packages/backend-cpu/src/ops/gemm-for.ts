import type { Activation } from '@tessera/core';
import { jsGemm, wasmGemmLayout, type Gemm, type GemmLayout, type GemmPath } from '../kernels/index.js';
import { elementwiseFor } from '../kernels/wasm/elementwise.js';
import type { Memory } from '../program.js';

const LAYOUTS: Readonly<Record<GemmPath, GemmLayout>> = { js: jsGemm, wasm: wasmGemmLayout };

/** The packed layout a program's GEMM steps are compiled for. */
export function gemmLayout(path: GemmPath = 'js'): GemmLayout {
  return LAYOUTS[path];
}

/** The layout of a step compiled by `gemmLayout` (`wasm`: for the wasm GEMM). */
export function stepLayout(step: { readonly wasm: boolean }): GemmLayout {
  return LAYOUTS[step.wasm ? 'wasm' : 'js'];
}

/**
 * The GEMM that runs a step compiled for `layout` on `mem`: the memory's own when it matches,
 * else the TypeScript one for a JS-compiled step (it runs on any Float32Array).
 */
export function gemmFor(mem: Memory, layout: GemmLayout, node: string): Gemm {
  if (mem.gemm?.path === layout.path) return mem.gemm;
  if (layout.path === 'js') return jsGemm;
  throw new Error(`step '${node}' was compiled for the ${layout.path} GEMM but its memory does not have one`);
}

/** An addend of `epilogueAfter`: `period` floats from `off`, repeated (a bias: the channels; a residual: the whole range). */
export interface Addend {
  readonly data: Float32Array;
  readonly off: number;
  readonly period: number;
}

/**
 * y[yOff, yOff + len) += the addend (if any), then the activation, by the element-wise kernels
 * (WebAssembly where the memory has them): the same operations per element as the GEMM's own
 * epilogue, for outputs a GEMM wrote without it (a residual conv, a Strassen panel).
 */
export function epilogueAfter(mem: Memory, y: Float32Array, yOff: number, len: number, addend: Addend | null, activation: Activation): void {
  if (len <= 0) return;
  const kernels = elementwiseFor(mem, y, addend?.data ?? y);
  if (addend) kernels.biasAdd(y, yOff, addend.data, addend.off, addend.period, y, yOff, 0, len, activation === 'relu');
  else if (activation === 'relu') kernels.relu(y, yOff, y, yOff, 0, len);
  if (activation === 'relu6') kernels.relu6(y, yOff, y, yOff, 0, len);
}
