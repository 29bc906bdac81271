/**
 * The WebAssembly SIMD transpose tile over a WebAssembly.Memory: the JavaScript side of
 * ./transpose-module.ts, bound as the depthwise kernel is (./depthwise.ts): one instance per
 * WasmGemm (so per memory and thread), null where the program memory's GEMM is not a wasm one or
 * SIMD is missing; the caller then runs the TypeScript tile (same bits).
 */
import type { Gemm } from '../gemm-call.js';
import type { TileFn } from '../transpose.js';
import type { Memory } from '../../program.js';
import { WasmGemm } from './gemm.js';
import { CompiledModule, SHARED_MAX_PAGES, wasmSimdSupported } from './module.js';
import { buildTransposeModule } from './transpose-module.js';
import type { MemoryViews } from './views.js';

const builds = [false, true].map(
  (shared) =>
    new CompiledModule(
      () => buildTransposeModule({ module: 'env', name: 'memory', minPages: 1, ...(shared ? { shared: { maxPages: SHARED_MAX_PAGES } } : {}) }),
      wasmSimdSupported,
    ),
);

/** The compiled module for an unshared or shared memory import, or null without SIMD (a few hundred bytes, compiled synchronously on first use). */
export function wasmTransposeModule(shared = false): WebAssembly.Module | null {
  return builds[shared ? 1 : 0].get();
}

/** The tile bound to one memory (one instance per thread). */
export class WasmTranspose {
  /** The tile on views of the memory, at element offsets (TileFn's contract). */
  readonly tile: TileFn;

  constructor(
    module: WebAssembly.Module,
    readonly memory: WebAssembly.Memory,
    private readonly views: MemoryViews,
  ) {
    const fn = new WebAssembly.Instance(module, { env: { memory } }).exports.tile as (...args: number[]) => void;
    this.tile = (x, s, y, d, nq, nl, tq, sj) => fn(x.byteOffset + 4 * s, y.byteOffset + 4 * d, nq, nl, 4 * tq, 4 * sj);
  }

  owns(x: Float32Array, y: Float32Array): boolean {
    return this.views.has(x) && this.views.has(y);
  }
}

const bound = new WeakMap<Gemm, WasmTranspose | null>();

function boundTo(gemm: Gemm): WasmTranspose | null {
  let t = bound.get(gemm);
  if (t === undefined) {
    t = null;
    try {
      if (gemm instanceof WasmGemm) {
        const module = wasmTransposeModule(gemm.memory.buffer instanceof SharedArrayBuffer);
        if (module) t = new WasmTranspose(module, gemm.memory, gemm.views);
      }
    } catch {
      t = null;
    }
    bound.set(gemm, t);
  }
  return t;
}

/** The wasm tile for operands x and y of a program memory, or null (run the TypeScript one). */
export function wasmTransposeFor(mem: Memory, x: Float32Array, y: Float32Array): TileFn | null {
  const t = mem.gemm ? boundTo(mem.gemm) : null;
  return t && t.owns(x, y) ? t.tile : null;
}
