/**
 * The Winograd transforms in WebAssembly SIMD over a WebAssembly.Memory: the JavaScript side of
 * ./winograd-module.ts. Bound like the depthwise kernel (./depthwise.ts): one instance per
 * WasmGemm (so per memory and thread), instantiated on first use; null where the memory's GEMM
 * is not a wasm one or SIMD is missing. Channel counts must be multiples of 4 (the vector width);
 * the TypeScript transforms (../winograd.ts) take the rest, with the same bits.
 */
import { phaseGeometry, winogradPhasesEligible } from '@tessera/core';
import { imagesOfRows } from '../conv2d.js';
import type { Gemm } from '../gemm-call.js';
import { F4X4, scratchLayout, tileCounts, type WinogradCall, type WinogradPlan, type WinogradTransforms } from '../winograd.js';
import type { Memory } from '../../program.js';
import { WasmGemm } from './gemm.js';
import { CompiledModule, SHARED_MAX_PAGES, wasmSimdSupported } from './module.js';
import type { MemoryViews } from './views.js';
import { buildWinogradModule } from './winograd-module.js';

/** The memory import of a build, unshared or shared. */
const memoryImport = (shared: boolean) => ({ module: 'env', name: 'memory', minPages: 1, ...(shared ? { shared: { maxPages: SHARED_MAX_PAGES } } : {}) });

/** The module of a plan for an unshared or shared memory (bytes, for a test's own plan). */
export function winogradModuleBytes(plan: WinogradPlan, shared = false): Uint8Array<ArrayBuffer> {
  return buildWinogradModule(plan, memoryImport(shared));
}

const builds = [false, true].map((shared) => new CompiledModule(() => winogradModuleBytes(F4X4, shared), wasmSimdSupported));

/** The compiled F(4x4, 3x3) module for an unshared or shared memory import, or null without SIMD. */
export function wasmWinogradModule(shared = false): WebAssembly.Module | null {
  return builds[shared ? 1 : 0].get();
}

/** Compiles the module asynchronously (once per kind), so that binding on a browser's main thread never compiles. */
export function loadWasmWinogradModule(shared = false): Promise<WebAssembly.Module | null> {
  return builds[shared ? 1 : 0].load();
}

type InputExport = (...args: number[]) => void;
type OutputExport = (...args: number[]) => number;

const ACTIVATION_CODE = { none: 0, relu: 1, relu6: 2 } as const;

/** The transforms bound to one memory (one instance per thread). */
export class WasmWinograd implements WinogradTransforms {
  private readonly inputFn: InputExport;
  private readonly outputFn: OutputExport;
  private readonly phaseRowsFn: InputExport;

  constructor(
    module: WebAssembly.Module,
    readonly memory: WebAssembly.Memory,
    private readonly views: MemoryViews,
    /** The plan the module was built for (a test may build one for its own). */
    readonly plan: WinogradPlan = F4X4,
  ) {
    const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
    this.inputFn = exports.input as InputExport;
    this.outputFn = exports.output as OutputExport;
    this.phaseRowsFn = exports.phase_rows as InputExport;
  }

  /**
   * True when the channel counts of the call's Winograd conv (a stride-2 conv's phase conv has 4C
   * input channels) suit the vectors and every operand is a view of this memory.
   */
  owns(c: WinogradCall): boolean {
    const v = this.views;
    return c.plan === this.plan && (winogradPhasesEligible(c.g) || c.g.inC % 4 === 0) && c.g.outC % 4 === 0 && v.has(c.x) && v.has(c.y) && v.has(c.scratch) && (c.bias === null || v.has(c.bias)) && (c.residual === null || v.has(c.residual));
  }

  phaseRows(c: WinogradCall, n: number, r0: number, r1: number): void {
    const { g } = c;
    this.phaseRowsFn(c.x.byteOffset + 4 * c.xOff, c.scratch.byteOffset + 4 * c.scratchOff, g.inC, g.inH, g.inW, g.padTop, g.padLeft, n, r0, r1, phaseGeometry(g).inW);
  }

  input(c: WinogradCall, t0: number, count: number, T: number): void {
    const { g, plan } = c;
    const { tilesH, tilesW } = tileCounts(plan, g);
    // Addressed from the image of tile t0 (tiles of earlier images are never read).
    const first = Math.floor(t0 / (tilesH * tilesW));
    const { floats } = imagesOfRows(g, 0, 1);
    const lay = scratchLayout(plan, g.inC, g.outC, T);
    const at = (arr: Float32Array, off: number) => arr.byteOffset + 4 * off;
    this.inputFn(
      at(c.x, c.xOff + first * floats), at(c.scratch, c.scratchOff + lay.V), at(c.scratch, c.scratchOff + lay.stage),
      g.inC, g.inH, g.inW, g.padTop, g.padLeft, tilesH, tilesW, t0 - first * tilesH * tilesW, count, lay.vStride,
    );
  }

  output(c: WinogradCall, t0: number, count: number, T: number): number {
    const { g, plan } = c;
    const { tilesH, tilesW } = tileCounts(plan, g);
    const first = Math.floor(t0 / (tilesH * tilesW));
    const image = g.outH * g.outW * g.outC;
    const lay = scratchLayout(plan, g.inC, g.outC, T);
    const at = (arr: Float32Array, off: number) => arr.byteOffset + 4 * off;
    return this.outputFn(
      at(c.scratch, c.scratchOff + lay.M), at(c.y, c.yOff + first * image), c.bias ? at(c.bias, c.biasOff) : 0,
      c.residual ? at(c.residual, c.residualOff + first * image) : 0,
      g.outC, g.outH, g.outW, tilesH, tilesW, t0 - first * tilesH * tilesW, count, lay.mStride,
      ACTIVATION_CODE[c.activation], c.bias ? 1 : 0, c.residual ? 1 : 0, at(c.scratch, c.scratchOff + lay.flags),
    );
  }
}

/** Instances by the GEMM they sit next to (one per memory and thread); null: not available. */
const bound = new WeakMap<Gemm, WasmWinograd | null>();

function boundTo(gemm: Gemm): WasmWinograd | null {
  let w = bound.get(gemm);
  if (w === undefined) {
    w = null;
    try {
      if (gemm instanceof WasmGemm) {
        const module = wasmWinogradModule(gemm.memory.buffer instanceof SharedArrayBuffer);
        if (module) w = new WasmWinograd(module, gemm.memory, gemm.views);
      }
    } catch {
      w = null;
    }
    bound.set(gemm, w);
  }
  return w;
}

/** The wasm transforms for a call on a program memory, or null (the caller then runs the TypeScript ones: same bits). */
export function wasmWinogradFor(mem: Memory, c: WinogradCall): WasmWinograd | null {
  const w = mem.gemm ? boundTo(mem.gemm) : null;
  return w && w.owns(c) ? w : null;
}
