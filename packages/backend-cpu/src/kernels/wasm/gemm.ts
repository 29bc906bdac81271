/**
 * WebAssembly SIMD (f32x4) GEMM over a WebAssembly.Memory: the JavaScript side.
 *
 *   C[rowStart..rowEnd, 0..N) = act(op(A) * B (+ bias[n]) (+ residual))
 *
 * Bias and activation run in the module's epilogue; with a residual, the module adds the bias only
 * and the residual and the activation follow on the same rows in TypeScript (`epilogueRows`: the
 * same float32 operations, in the same order, as the JS GEMM).
 *
 * The `Gemm` (../gemm-call.ts) of a memory: operands are Float32Array views of
 * the memory plus element offsets, like the JS `gemm`; they are turned into byte
 * addresses and the whole blocked loop nest runs in WebAssembly (./gemm-module.ts).
 *
 * B is packed in panels of WASM_NR columns (`packBWasmInto`), a different
 * layout from the JS kernel's GEMM_NR panels: a program compiled for one path
 * cannot run its packed weights through the other.
 *
 * Contract (same as the JS kernel): every C element is a float32 sum over k
 * in a fixed order that depends on K only, so any split of the rows (threads,
 * chunks) gives bit-identical results, and runs are deterministic. The JS
 * kernel performs the same float32 operations on the same k-blocks (GEMM_KC)
 * and gives the same bits. Both are within |y - ref| <= 2(K+2) 2^-24 sum|a_i b_i|.
 * Where the runtime has relaxed SIMD (`wasmRelaxedSimdSupported`), the module is built with
 * f32x4.relaxed_madd instead (a fused multiply-add on this hardware: one rounding less per step,
 * so within the same bound, ~1.25x faster); it is still one module for every thread, so cpu and
 * workers still agree bit for bit, but no longer with the JS kernel.
 */
import { im2col as im2colJs, imagesOfRows, type Conv2dGeometry } from '../conv2d.js';
import { checkGemmCall, epilogueOnly, epilogueRows, type Gemm, type GemmCall, type GemmLayout } from '../gemm-call.js';
import { GEMM_KC, panelLayout } from '../gemm.js';
import { buildGemmModule, EPI_BIAS, EPI_RELU, EPI_RELU6, type GemmModuleConfig } from './gemm-module.js';
import { CompiledModule, SHARED_MAX_PAGES, sharedWasmMemorySupported, wasmRelaxedSimdSupported, wasmSimdSupported } from './module.js';
import { MemoryViews } from './views.js';

/** Tile and block sizes of the generated module. */
export const WASM_GEMM_CONFIG: GemmModuleConfig = { MR: 5, NR: 8, KC: GEMM_KC, MC: 60, NC: 512, UNROLL: 1 };
/** Rows per register tile of the wasm kernel. */
export const WASM_MR = WASM_GEMM_CONFIG.MR;
/** Columns per packed-B panel of the wasm kernel. */
export const WASM_NR = WASM_GEMM_CONFIG.NR;

/** Bytes of scratch one thread's wasm GEMM needs (transposed-A block + edge tile). */
export const WASM_GEMM_SCRATCH_BYTES =
  (WASM_GEMM_CONFIG.MC * WASM_GEMM_CONFIG.KC + WASM_GEMM_CONFIG.MR * WASM_GEMM_CONFIG.NR) * 4;

/** The module's configuration in this runtime: relaxed SIMD where it validates. */
const moduleConfig = (): GemmModuleConfig => ({ ...WASM_GEMM_CONFIG, relaxed: wasmRelaxedSimdSupported() });

const plainModule = new CompiledModule(
  () => buildGemmModule(moduleConfig(), { module: 'env', name: 'memory', minPages: 1 }),
  wasmSimdSupported,
);
const sharedModule = new CompiledModule(
  () => buildGemmModule(moduleConfig(), { module: 'env', name: 'memory', minPages: 1, shared: { maxPages: SHARED_MAX_PAGES } }),
  () => wasmSimdSupported() && sharedWasmMemorySupported(),
);

/** The compiled GEMM module, or null without SIMD support (compiled synchronously on first use). */
export function wasmGemmModule(): WebAssembly.Module | null {
  return plainModule.get();
}

/** Compiles the module asynchronously (once); resolves to null without SIMD support. */
export function loadWasmGemmModule(): Promise<WebAssembly.Module | null> {
  return plainModule.load();
}

/**
 * The same GEMM compiled against a *shared* imported memory (for threads: each thread
 * instantiates it on one shared WebAssembly.Memory with its own scratch region). Null
 * without SIMD or shared-memory support. Compiles asynchronously, once.
 */
export function loadSharedWasmGemmModule(): Promise<WebAssembly.Module | null> {
  return sharedModule.load();
}

const wasmPanels = panelLayout(WASM_NR);
/** Floats `packBWasmInto` writes for a K x N matrix (WASM_NR-column panels). */
export const wasmPackedBSize = wasmPanels.packedBSize;
/** Packs op(B) for the wasm micro-kernel; dstOff should be a multiple of 4 (16-byte loads). */
export const packBWasmInto = wasmPanels.packB;

/** The wasm GEMM's packed layout (what a program compiled for it packs at compile time). */
export const wasmGemmLayout: GemmLayout = { path: 'wasm', mr: WASM_MR, nr: WASM_NR, packedBSize: wasmPackedBSize, packB: packBWasmInto };

/** The module's epilogue flags of each activation (relu6 is relu, then the clamp at 6). */
const ACTIVATION_FLAGS: Readonly<Record<GemmCall['activation'], number>> = { none: 0, relu: EPI_RELU, relu6: EPI_RELU | EPI_RELU6 };

type GemmExport = (
  N: number, K: number, a: number, lda: number, transA: number, b: number, c: number, ldc: number,
  bias: number, epi: number, rowStart: number, rowEnd: number, scratch: number,
) => void;

type Im2colExport = (
  x: number, dst: number, r0: number, r1: number, inH: number, inW: number, inC: number, kH: number, kW: number,
  strideH: number, strideW: number, dilationH: number, dilationW: number, padTop: number, padLeft: number, outH: number, outW: number,
) => void;

/**
 * The wasm GEMM bound to one memory and one scratch region of it
 * (WASM_GEMM_SCRATCH_BYTES bytes, used by one thread at a time).
 */
export class WasmGemm implements Gemm {
  readonly path = 'wasm' as const;
  readonly mr = WASM_MR;
  readonly nr = WASM_NR;
  readonly packedBSize = wasmPackedBSize;
  readonly packB = packBWasmInto;
  /** Recognizes views of the memory (probing in this thread's scratch when a shared buffer object changed). */
  readonly views: MemoryViews;
  private readonly fn: GemmExport;
  private readonly im2colFn: Im2colExport;

  constructor(
    readonly memory: WebAssembly.Memory,
    readonly scratchByteOffset: number,
    module: WebAssembly.Module | null = wasmGemmModule(),
  ) {
    if (!module) throw new Error('WebAssembly SIMD is not available');
    if (scratchByteOffset % 16 !== 0 || scratchByteOffset < 0 || scratchByteOffset + WASM_GEMM_SCRATCH_BYTES > memory.buffer.byteLength) {
      throw new RangeError(`WasmGemm: scratch at byte ${scratchByteOffset} (+${WASM_GEMM_SCRATCH_BYTES}) outside the memory or unaligned`);
    }
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    this.fn = instance.exports.gemm as GemmExport;
    this.im2colFn = instance.exports.im2col as Im2colExport;
    this.views = new MemoryViews(memory, scratchByteOffset);
  }

  /**
   * Gemm.im2col: in WebAssembly where x and dst are views of this memory (no views allocated,
   * no relaxed-atomic typed-array copies on a shared memory), else the TypeScript one (same values).
   */
  im2col(g: Conv2dGeometry, x: Float32Array, xOff: number, dst: Float32Array, dstOff: number, r0: number, r1: number): void {
    if (!this.owns(x) || !this.owns(dst)) {
      im2colJs(g, x, xOff, dst, dstOff, r0, r1);
      return;
    }
    if (!(0 <= r0 && r0 <= r1 && r1 <= g.batch * g.outH * g.outW)) throw new RangeError(`im2col: bad row range [${r0}, ${r1})`);
    if (r0 === r1) return;
    const K = g.kH * g.kW * g.inC;
    if (dstOff < 0 || dstOff + (r1 - r0) * K > dst.length) throw new RangeError('im2col: dst outside its buffer');
    // Only the images of rows [r0, r1) are read, addressed from the first of them.
    const { first, end, floats, firstRow } = imagesOfRows(g, r0, r1);
    if (xOff + first * floats < 0 || xOff + end * floats > x.length) throw new RangeError('im2col: x outside its buffer');
    this.im2colFn(
      this.address(x, xOff + first * floats), this.address(dst, dstOff), r0 - firstRow, r1 - firstRow, g.inH, g.inW, g.inC, g.kH, g.kW,
      g.strideH, g.strideW, g.dilationH, g.dilationW, g.padTop, g.padLeft, g.outH, g.outW,
    );
  }

  /** Byte address of arr[off] in the memory; arr must be a view of it. */
  address(arr: Float32Array, off: number): number {
    if (!this.views.has(arr)) throw new RangeError('WasmGemm: operand is not a view of the wasm memory');
    return arr.byteOffset + 4 * off;
  }

  /** True if arr is a view of this memory. */
  owns(arr: Float32Array): boolean {
    return this.views.has(arr);
  }

  /** Gemm.run: B packed by `packBWasmInto`; every operand a view of this memory. */
  run(call: GemmCall): void {
    const { N, K, a, aOff, lda, transA, bias, rowStart, rowEnd } = call;
    if (!checkGemmCall(call, wasmPackedBSize(K, N))) return;
    if (K === 0) {
      epilogueOnly(call);
      return;
    }
    // Only rows [rowStart, rowEnd) of op(A) and C are accessed, addressed from the first of them
    // (aOff and cOff alone may be negative: backend-workers' chain tiles). A row's result does
    // not depend on where the range starts.
    const residual = call.residual !== null;
    const epi = (bias !== null ? EPI_BIAS : 0) | (residual ? 0 : ACTIVATION_FLAGS[call.activation]);
    this.fn(
      N, K,
      this.address(a, transA ? aOff + rowStart : aOff + rowStart * lda), lda, transA ? 1 : 0,
      this.address(call.b, call.bOff),
      this.address(call.c, call.cOff + rowStart * call.ldc), call.ldc,
      bias !== null ? this.address(bias, call.biasOff) : 0, epi,
      0, rowEnd - rowStart, this.scratchByteOffset,
    );
    if (residual) epilogueRows(call, rowStart, rowEnd - rowStart, 0, N, false);
  }
}
