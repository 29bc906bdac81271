/**
 * Runtime support for the generated WebAssembly SIMD modules: feature checks and one compiled
 * module per build, compiled once (synchronously on first use, or asynchronously ahead of it).
 */
import { simdProbe } from './gemm-module.js';

let simd: boolean | undefined;
let relaxed: boolean | undefined;

/** True when this runtime validates WebAssembly SIMD (f32x4) modules. */
export function wasmSimdSupported(): boolean {
  if (simd === undefined) {
    try {
      simd = typeof WebAssembly === 'object' && typeof WebAssembly.Memory === 'function' && WebAssembly.validate(simdProbe());
    } catch {
      simd = false;
    }
  }
  return simd;
}

/**
 * True when this runtime validates relaxed SIMD (f32x4.relaxed_madd): Chromium 114+ and Node 22+
 * by default, Node 20 with --experimental-wasm-relaxed-simd. TESSERA_RELAXED_SIMD=0 in the
 * environment turns it off (the plain SIMD kernels, whose bits the TypeScript ones match).
 */
export function wasmRelaxedSimdSupported(): boolean {
  if (relaxed === undefined) {
    const off = typeof process === 'object' && process.env?.TESSERA_RELAXED_SIMD === '0';
    try {
      relaxed = !off && wasmSimdSupported() && WebAssembly.validate(simdProbe(true));
    } catch {
      relaxed = false;
    }
  }
  return relaxed;
}

/** True when this runtime can create a shared WebAssembly.Memory (its buffer a SharedArrayBuffer). */
export function sharedWasmMemorySupported(): boolean {
  try {
    if (typeof SharedArrayBuffer === 'undefined' || typeof WebAssembly !== 'object') return false;
    const m = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return m.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

/**
 * Largest shared memory the shared-memory builds accept: wasm32's 4 GiB. A memory whose maximum
 * is at most this (and whose size is at least one page) matches the import, so one compiled
 * module serves every shared memory.
 */
export const SHARED_MAX_PAGES = 65536;

/**
 * One module build, compiled at most once: null where this runtime lacks what it needs
 * (`supported`) or rejects it.
 */
export class CompiledModule {
  private bytes: Uint8Array<ArrayBuffer> | undefined;
  private module: WebAssembly.Module | null | undefined;
  private compiling: Promise<WebAssembly.Module | null> | undefined;

  constructor(
    private readonly build: () => Uint8Array<ArrayBuffer>,
    private readonly supported: () => boolean,
  ) {}

  private source(): Uint8Array<ArrayBuffer> {
    this.bytes ??= this.build();
    return this.bytes;
  }

  /**
   * The module, compiled synchronously on first use (fine in Node and workers; a browser main
   * thread should `load` first, since it limits synchronous compiles).
   */
  get(): WebAssembly.Module | null {
    if (this.module === undefined) {
      this.module = null;
      if (this.supported()) {
        try {
          this.module = new WebAssembly.Module(this.source());
        } catch {
          this.module = null;
        }
      }
    }
    return this.module;
  }

  /** Compiles asynchronously (once). */
  load(): Promise<WebAssembly.Module | null> {
    if (this.module !== undefined) return Promise.resolve(this.module);
    this.compiling ??= (async () => {
      let m: WebAssembly.Module | null = null;
      if (this.supported()) {
        try {
          m = await WebAssembly.compile(this.source());
        } catch {
          m = null;
        }
      }
      this.module ??= m;
      return this.module;
    })();
    return this.compiling;
  }
}
