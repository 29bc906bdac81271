import { jsGemm, wasmGemmLayout, type Gemm, type GemmLayout, type GemmPath } from '../kernels/index.js';
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
