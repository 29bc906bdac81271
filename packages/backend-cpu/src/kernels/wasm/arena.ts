/**
 * WebAssembly memories for the cpu kernels: one per executable (arena, weights, scratch), or one
 * shared by several threads (a scratch region per thread). Allocated once, never grown: growing
 * would detach the views.
 */
import { WASM_GEMM_SCRATCH_BYTES, WasmGemm, wasmGemmModule } from './gemm.js';

/** One memory holding a scratch region and the caller's Float32Array regions, allocated once (never grown). */
export interface WasmArena {
  readonly memory: WebAssembly.Memory;
  readonly gemm: WasmGemm;
  /** One view per requested region, in request order. */
  readonly regions: Float32Array[];
}

const PAGE = 65536;
/** Slack after the last region: full-tile vector loads never reach past it. */
const TAIL_BYTES = 256;
/** Largest memory this creates (wasm32 allows 4 GiB; keep well below). */
export const WASM_MAX_BYTES = 2 ** 31;
const MAX_BYTES = WASM_MAX_BYTES;

const align = (bytes: number): number => Math.ceil(bytes / 64) * 64;

/** Byte offsets of regions of `sizes` floats laid out from byte `start`, 64-byte aligned; and the end. */
function layout(start: number, sizes: readonly number[]): { readonly offsets: number[]; readonly end: number } {
  let end = start;
  const offsets = sizes.map((s) => {
    const o = end;
    end += align(Math.max(0, s) * 4);
    return o;
  });
  return { offsets, end };
}

/** A fixed-size memory (initial = maximum) of at least `bytes` plus the tail, or null if too large. */
function fixedMemory(bytes: number, shared: boolean): WebAssembly.Memory | null {
  if (bytes + TAIL_BYTES > MAX_BYTES) return null;
  const pages = Math.max(1, Math.ceil((bytes + TAIL_BYTES) / PAGE));
  try {
    return new WebAssembly.Memory({ initial: pages, maximum: pages, shared });
  } catch {
    return null;
  }
}

/**
 * Allocates one WebAssembly.Memory with the GEMM scratch and the given
 * regions (floats), each 64-byte aligned. Returns null without SIMD support
 * or if the total is too large for a wasm32 memory.
 */
export function createWasmArena(sizes: readonly number[], module: WebAssembly.Module | null = wasmGemmModule()): WasmArena | null {
  if (!module) return null;
  const { offsets, end } = layout(align(WASM_GEMM_SCRATCH_BYTES), sizes);
  const memory = fixedMemory(end, false);
  if (!memory) return null;
  const gemm = new WasmGemm(memory, 0, module);
  const regions = sizes.map((s, i) => new Float32Array(memory.buffer, offsets[i], Math.max(0, s)));
  return { memory, gemm, regions };
}

/** Where one thread's scratch lives in a shared arena: the GEMM's, then the kernels'. */
export interface WasmThreadScratch {
  /** Byte offset of the GEMM scratch (WASM_GEMM_SCRATCH_BYTES bytes), for `new WasmGemm`. */
  readonly gemmByteOffset: number;
  /** Byte offset and length (floats) of the kernel scratch handed to `CpuKernel.run`. */
  readonly scratchByteOffset: number;
  readonly scratchLength: number;
}

/** One shared WebAssembly.Memory for several threads: a scratch region per thread, then the regions. */
export interface SharedWasmArena {
  /** shared: true, fixed size (initial = maximum); its buffer is a SharedArrayBuffer. */
  readonly memory: WebAssembly.Memory;
  readonly threads: readonly WasmThreadScratch[];
  /** Byte offset and length (floats) of each requested region, in request order. */
  readonly regions: readonly { readonly byteOffset: number; readonly length: number }[];
}

/**
 * Allocates one shared WebAssembly.Memory holding `threads` scratch regions (GEMM scratch +
 * `kernelScratch` floats each) and the given regions (floats), each 64-byte aligned. Returns
 * null if shared wasm memory is unavailable or the total is too large for a wasm32 memory.
 * Threads bind to it with `new WasmGemm(memory, threads[i].gemmByteOffset, sharedModule)`.
 * `reuse(bytes)` may return a shared memory of at least `bytes` no one uses any more: it is
 * zeroed and laid out again instead of allocating (see backend-workers' memory cache).
 */
export function createSharedWasmArena(
  threads: number,
  kernelScratch: number,
  sizes: readonly number[],
  reuse?: (bytes: number) => WebAssembly.Memory | null,
): SharedWasmArena | null {
  const perThread = align(WASM_GEMM_SCRATCH_BYTES) + align(Math.max(0, kernelScratch) * 4);
  const scratch: WasmThreadScratch[] = [];
  for (let t = 0; t < threads; t++) {
    const gemmByteOffset = t * perThread;
    scratch.push({ gemmByteOffset, scratchByteOffset: gemmByteOffset + align(WASM_GEMM_SCRATCH_BYTES), scratchLength: Math.max(0, kernelScratch) });
  }
  const { offsets, end } = layout(threads * perThread, sizes);
  const reused = end + TAIL_BYTES <= MAX_BYTES ? reuse?.(end + TAIL_BYTES) : null;
  if (reused) new Uint8Array(reused.buffer).fill(0);
  const memory = reused ?? fixedMemory(end, true);
  if (!memory || !(memory.buffer instanceof SharedArrayBuffer)) return null;
  return { memory, threads: scratch, regions: sizes.map((s, i) => ({ byteOffset: offsets[i], length: Math.max(0, s) })) };
}
