/**
 * WebAssembly SIMD depthwise convolution (multiplier 1) with its bias + activation epilogue over
 * a WebAssembly.Memory: the JavaScript side of ./depthwise-module.ts. Same bits as the
 * TypeScript kernel (../depthwise.ts), on any output-pixel range, so a scheduler may split a step
 * anywhere.
 *
 * Binding as the element-wise kernels' (./elementwise.ts): one instance per WasmGemm (so per
 * memory and thread), instantiated on first use on that GEMM's memory; null where the program
 * memory's GEMM is not a wasm one, SIMD is missing or an operand lies outside the memory.
 */
import type { ConvGeometry } from '@tessera/core';
import { imagesOfRows } from '../conv2d.js';
import type { DepthwiseCall } from '../depthwise.js';
import type { Gemm } from '../gemm-call.js';
import type { Memory } from '../../program.js';
import { buildDepthwiseModule } from './depthwise-module.js';
import { WasmGemm } from './gemm.js';
import { CompiledModule, SHARED_MAX_PAGES, wasmSimdSupported } from './module.js';
import type { MemoryViews } from './views.js';

const builds = [false, true].map(
  (shared) =>
    new CompiledModule(
      () => buildDepthwiseModule({ module: 'env', name: 'memory', minPages: 1, ...(shared ? { shared: { maxPages: SHARED_MAX_PAGES } } : {}) }),
      wasmSimdSupported,
    ),
);

/** The compiled module for an unshared or shared memory import, or null without SIMD (compiled synchronously on first use). */
export function wasmDepthwiseModule(shared = false): WebAssembly.Module | null {
  return builds[shared ? 1 : 0].get();
}

/** Compiles the module asynchronously (once per kind), so that binding on a browser's main thread never compiles. */
export function loadWasmDepthwiseModule(shared = false): Promise<WebAssembly.Module | null> {
  return builds[shared ? 1 : 0].load();
}

type DepthwiseExport = (...args: number[]) => void;

const ACTIVATION_CODE = { none: 0, relu: 1, relu6: 2 } as const;

/** The kernel bound to one memory (one instance per thread). */
export class WasmDepthwise {
  private readonly fn: DepthwiseExport;

  constructor(
    module: WebAssembly.Module,
    readonly memory: WebAssembly.Memory,
    private readonly views: MemoryViews,
  ) {
    this.fn = new WebAssembly.Instance(module, { env: { memory } }).exports.depthwise as DepthwiseExport;
  }

  /** True when every operand of the call is a view of this memory. */
  owns(c: DepthwiseCall): boolean {
    return this.views.has(c.x) && this.views.has(c.w) && this.views.has(c.y) && (c.bias === null || this.views.has(c.bias));
  }

  /** Output pixels [start, end) of a multiplier-1 call (`owns` it); ranges checked by the caller. */
  run(c: DepthwiseCall, start: number, end: number): void {
    const g: ConvGeometry = c.g;
    // The first image the range reads is addressed directly: the offset alone may be negative (tiles).
    const { first, floats, firstRow } = imagesOfRows(g, start, end);
    const rem = start - firstRow;
    const oh = Math.floor(rem / g.outW);
    const at = (arr: Float32Array, off: number) => arr.byteOffset + 4 * off;
    this.fn(
      at(c.x, c.xOff + first * floats), at(c.w, c.wOff), c.bias ? at(c.bias, c.biasOff) : 0, at(c.y, c.yOff + start * g.outC),
      g.inC, g.inH, g.inW, g.kH, g.kW, g.strideH, g.strideW, g.dilationH, g.dilationW, g.padTop, g.padLeft, g.outH, g.outW,
      oh, rem - oh * g.outW, end - start, ACTIVATION_CODE[c.activation], c.bias ? 1 : 0,
    );
  }
}

/** Instances by the GEMM they sit next to (one per memory and thread); null: not available. */
const bound = new WeakMap<Gemm, WasmDepthwise | null>();

function boundTo(gemm: Gemm): WasmDepthwise | null {
  let d = bound.get(gemm);
  if (d === undefined) {
    d = null;
    try {
      if (gemm instanceof WasmGemm) {
        const module = wasmDepthwiseModule(gemm.memory.buffer instanceof SharedArrayBuffer);
        if (module) d = new WasmDepthwise(module, gemm.memory, gemm.views);
      }
    } catch {
      d = null;
    }
    bound.set(gemm, d);
  }
  return d;
}

/** The wasm kernel for a call on a program memory, or null (the caller then runs the TypeScript one: same bits). */
export function wasmDepthwiseFor(mem: Memory, c: DepthwiseCall): WasmDepthwise | null {
  const d = mem.gemm ? boundTo(mem.gemm) : null;
  return d && d.owns(c) ? d : null;
}
