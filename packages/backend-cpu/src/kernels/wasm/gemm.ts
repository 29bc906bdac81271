/**
 * WebAssembly SIMD (f32x4) GEMM over a WebAssembly.Memory: the JavaScript side.
 *
 *   C[rowStart..rowEnd, 0..N) = op(A) * B (+ bias[n]) (then relu)
 *
 * Operands are Float32Array views over the memory's buffer plus element
 * offsets, like the JS `gemm`; they are turned into byte addresses and the
 * whole blocked loop nest runs in WebAssembly (./gemm-module.ts).
 *
 * B is packed in panels of WASM_NR columns (`packBWasmInto`), a different
 * layout from the JS kernel's GEMM_NR panels: a program compiled for one path
 * cannot run its packed weights through the other.
 *
 * Contract (same as the JS kernel): every C element is a float32 sum over k
 * in a fixed order that depends on K only, so any split of the rows (threads,
 * chunks) gives bit-identical results, and runs are deterministic. Unlike the
 * JS kernel's default, the sum is accumulated in float32 (that one uses
 * doubles within a k-block); the JS kernel with rounding 'f32' performs the
 * same float32 operations on the same k-blocks (GEMM_KC) and gives the same
 * bits. Both are within |y - ref| <= 2(K+2) 2^-24 sum|a_i b_i|.
 */
import { imagesOfRows, type Conv2dGeometry } from '../conv2d.js';
import { GEMM_KC, packPanelsInto, type GemmEpilogue, type PackedB } from '../gemm.js';
import { buildGemmModule, EPI_BIAS, EPI_RELU, simdProbe, type GemmModuleConfig } from './gemm-module.js';

/** Tile and block sizes of the generated module. */
export const WASM_GEMM_CONFIG: GemmModuleConfig = { MR: 5, NR: 8, KC: GEMM_KC, MC: 60, NC: 512, UNROLL: 1 };
/** Rows per register tile of the wasm kernel. */
export const WASM_MR = WASM_GEMM_CONFIG.MR;
/** Columns per packed-B panel of the wasm kernel. */
export const WASM_NR = WASM_GEMM_CONFIG.NR;

/** Bytes of scratch one thread's wasm GEMM needs (transposed-A block + edge tile). */
export const WASM_GEMM_SCRATCH_BYTES =
  (WASM_GEMM_CONFIG.MC * WASM_GEMM_CONFIG.KC + WASM_GEMM_CONFIG.MR * WASM_GEMM_CONFIG.NR) * 4;

let simd: boolean | undefined;

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

let moduleBytes: Uint8Array<ArrayBuffer> | undefined;
let compiled: WebAssembly.Module | null | undefined;
let compiling: Promise<WebAssembly.Module | null> | undefined;

function bytes(): Uint8Array<ArrayBuffer> {
  moduleBytes ??= buildGemmModule(WASM_GEMM_CONFIG, { module: 'env', name: 'memory', minPages: 1 });
  return moduleBytes;
}

/**
 * The compiled GEMM module, or null without SIMD support. Synchronous
 * compilation (fine in Node and workers; a browser main thread should call
 * `loadWasmGemmModule` first, since it limits synchronous compiles).
 */
export function wasmGemmModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    compiled = null;
    if (wasmSimdSupported()) {
      try {
        compiled = new WebAssembly.Module(bytes());
      } catch {
        compiled = null;
      }
    }
  }
  return compiled;
}

/** Compiles the module asynchronously (once); resolves to null without SIMD support. */
export function loadWasmGemmModule(): Promise<WebAssembly.Module | null> {
  if (compiled !== undefined) return Promise.resolve(compiled);
  compiling ??= (async () => {
    let m: WebAssembly.Module | null = null;
    if (wasmSimdSupported()) {
      try {
        m = await WebAssembly.compile(bytes());
      } catch {
        m = null;
      }
    }
    compiled ??= m;
    return compiled;
  })();
  return compiling;
}

/**
 * Largest shared memory the shared-memory module accepts: wasm32's 4 GiB. A memory whose
 * maximum is at most this (and whose size is at least one page) matches the import, so one
 * compiled module serves every shared memory.
 */
const SHARED_MAX_PAGES = 65536;

let sharedBytes: Uint8Array<ArrayBuffer> | undefined;
let sharedCompiled: WebAssembly.Module | null | undefined;
let sharedCompiling: Promise<WebAssembly.Module | null> | undefined;

function sharedModuleBytes(): Uint8Array<ArrayBuffer> {
  sharedBytes ??= buildGemmModule(WASM_GEMM_CONFIG, { module: 'env', name: 'memory', minPages: 1, shared: { maxPages: SHARED_MAX_PAGES } });
  return sharedBytes;
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
 * The same GEMM compiled against a *shared* imported memory (for threads: each thread
 * instantiates it on one shared WebAssembly.Memory with its own scratch region). Null
 * without SIMD or shared-memory support. Compiles asynchronously, once.
 */
export function loadSharedWasmGemmModule(): Promise<WebAssembly.Module | null> {
  if (sharedCompiled !== undefined) return Promise.resolve(sharedCompiled);
  sharedCompiling ??= (async () => {
    let m: WebAssembly.Module | null = null;
    if (wasmSimdSupported() && sharedWasmMemorySupported()) {
      try {
        m = await WebAssembly.compile(sharedModuleBytes());
      } catch {
        m = null;
      }
    }
    sharedCompiled ??= m;
    return sharedCompiled;
  })();
  return sharedCompiling;
}

/** Number of floats `packBWasmInto` writes for a K x N matrix. */
export function wasmPackedBSize(K: number, N: number): number {
  return K * Math.ceil(N / WASM_NR) * WASM_NR;
}

/**
 * Packs op(B) (K x N) into dst[dstOff ..+ wasmPackedBSize(K, N)) as panels of
 * WASM_NR columns; a panel holds all K rows (WASM_NR floats each, k-major),
 * columns past N are zero. dstOff should be a multiple of 4 (16-byte loads).
 * Not transposed: B[k][n] = b[bOff + k*ldb + n]; transposed: b[bOff + n*ldb + k].
 */
export function packBWasmInto(
  dst: Float32Array, dstOff: number,
  K: number, N: number, b: Float32Array, bOff: number, ldb: number, transB: boolean,
): PackedB {
  return packPanelsInto(WASM_NR, dst, dstOff, K, N, b, bOff, ldb, transB);
}

/** Wraps data already packed by `packBWasmInto`. */
export function wasmPackedBView(data: Float32Array, offset: number, K: number, N: number): PackedB {
  if (offset < 0 || offset + wasmPackedBSize(K, N) > data.length) {
    throw new RangeError(`wasmPackedBView: [${offset}, +${wasmPackedBSize(K, N)}) outside buffer of ${data.length}`);
  }
  return { K, N, data, offset };
}

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
export class WasmGemm {
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
  }

  /**
   * The receptive fields of output pixels [r0, r1) into dst[dstOff..] (views of this memory),
   * like the TypeScript `im2col` (same values: a copy, +0 for padding), in WebAssembly: no
   * views allocated, no relaxed-atomic typed-array copies on a shared memory.
   */
  im2col(g: Conv2dGeometry, x: Float32Array, xOff: number, dst: Float32Array, dstOff: number, r0: number, r1: number): void {
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
    if (arr.buffer !== this.memory.buffer) throw new RangeError('WasmGemm: operand is not a view of the wasm memory');
    return arr.byteOffset + 4 * off;
  }

  /** True if arr is a view of this memory (else use the JS kernels). */
  owns(arr: Float32Array): boolean {
    return arr.buffer === this.memory.buffer;
  }

  /**
   * C = op(A) * B (+bias)(relu) for output rows [rowStart, rowEnd), B packed by
   * `packBWasmInto`. op(A)[i][k] = transA ? a[aOff + k*lda + i] : a[aOff + i*lda + k];
   * C[i][n] = c[cOff + i*ldc + n]. C must not overlap A or B.
   */
  gemm(
    M: number, N: number, K: number,
    a: Float32Array, aOff: number, lda: number, transA: boolean,
    b: PackedB,
    c: Float32Array, cOff: number, ldc: number,
    epilogue: GemmEpilogue | undefined,
    rowStart: number, rowEnd: number,
  ): void {
    if (!(0 <= rowStart && rowStart <= rowEnd && rowEnd <= M)) {
      throw new RangeError(`gemm: bad row range [${rowStart}, ${rowEnd}) for M=${M}`);
    }
    if (b.K !== K || b.N !== N) throw new RangeError(`gemm: packed B is ${b.K}x${b.N}, expected ${K}x${N}`);
    if (rowStart === rowEnd || N === 0) return;
    const bias = epilogue?.bias;
    const biasOff = epilogue?.biasOff ?? 0;
    const relu = epilogue?.relu ?? false;
    const cFirst = cOff + rowStart * ldc;
    const cLast = cOff + (rowEnd - 1) * ldc + N;
    if (cFirst < 0 || cLast > c.length) throw new RangeError('gemm: C outside its buffer');
    if (bias !== undefined && (biasOff < 0 || biasOff + N > bias.length)) throw new RangeError('gemm: bias outside its buffer');
    if (K === 0) {
      for (let i = rowStart; i < rowEnd; i++) {
        const o = cOff + i * ldc;
        for (let n = 0; n < N; n++) {
          const v = bias !== undefined ? 0 + bias[biasOff + n] : 0;
          c[o + n] = relu && v < 0 ? 0 : v;
        }
      }
      return;
    }
    // Only rows [rowStart, rowEnd) of op(A) and C are accessed, addressed from the first of them
    // (aOff and cOff alone may be negative: backend-workers' chain tiles). A row's result does
    // not depend on where the range starts.
    const aFirst = transA ? aOff + rowStart : aOff + rowStart * lda;
    const aLast = transA ? aOff + (K - 1) * lda + rowEnd : aOff + (rowEnd - 1) * lda + K;
    if (aFirst < 0 || aLast > a.length) throw new RangeError('gemm: A outside its buffer');
    if (b.offset < 0 || b.offset + wasmPackedBSize(K, N) > b.data.length) throw new RangeError('gemm: packed B outside its buffer');
    const epi = (bias !== undefined ? EPI_BIAS : 0) | (relu ? EPI_RELU : 0);
    this.fn(
      N, K,
      this.address(a, aFirst), lda, transA ? 1 : 0,
      this.address(b.data, b.offset),
      this.address(c, cFirst), ldc,
      bias !== undefined ? this.address(bias, biasOff) : 0, epi,
      0, rowEnd - rowStart, this.scratchByteOffset,
    );
  }

  /**
   * GEMM where B is a runtime value: packs op(B) into scratch[scratchOff..]
   * (wasmPackedBSize(K, N) floats, a view of this memory), then multiplies.
   */
  gemmUnpacked(
    M: number, N: number, K: number,
    a: Float32Array, aOff: number, lda: number, transA: boolean,
    b: Float32Array, bOff: number, ldb: number, transB: boolean,
    c: Float32Array, cOff: number, ldc: number,
    epilogue: GemmEpilogue | undefined,
    scratch: Float32Array, scratchOff: number,
    rowStart: number, rowEnd: number,
  ): void {
    if (rowStart === rowEnd) return;
    const packed = packBWasmInto(scratch, scratchOff, K, N, b, bOff, ldb, transB);
    this.gemm(M, N, K, a, aOff, lda, transA, packed, c, cOff, ldc, epilogue, rowStart, rowEnd);
  }
}

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
const MAX_BYTES = 2 ** 31;

/**
 * Allocates one WebAssembly.Memory with the GEMM scratch and the given
 * regions (floats), each 64-byte aligned. Returns null without SIMD support
 * or if the total is too large for a wasm32 memory.
 */
export function createWasmArena(sizes: readonly number[], module: WebAssembly.Module | null = wasmGemmModule()): WasmArena | null {
  if (!module) return null;
  const align = (n: number) => Math.ceil(n / 64) * 64;
  let bytesNeeded = align(WASM_GEMM_SCRATCH_BYTES);
  const offsets = sizes.map((s) => {
    const o = bytesNeeded;
    bytesNeeded += align(Math.max(0, s) * 4);
    return o;
  });
  bytesNeeded += TAIL_BYTES;
  if (bytesNeeded > MAX_BYTES) return null;
  const pages = Math.max(1, Math.ceil(bytesNeeded / PAGE));
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  } catch {
    return null;
  }
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
 */
export function createSharedWasmArena(threads: number, kernelScratch: number, sizes: readonly number[]): SharedWasmArena | null {
  const align = (n: number) => Math.ceil(n / 64) * 64;
  let bytesNeeded = 0;
  const scratch: WasmThreadScratch[] = [];
  for (let t = 0; t < threads; t++) {
    const gemmByteOffset = bytesNeeded;
    bytesNeeded += align(WASM_GEMM_SCRATCH_BYTES);
    const scratchByteOffset = bytesNeeded;
    bytesNeeded += align(Math.max(0, kernelScratch) * 4);
    scratch.push({ gemmByteOffset, scratchByteOffset, scratchLength: Math.max(0, kernelScratch) });
  }
  const regions = sizes.map((s) => {
    const byteOffset = bytesNeeded;
    bytesNeeded += align(Math.max(0, s) * 4);
    return { byteOffset, length: Math.max(0, s) };
  });
  bytesNeeded += TAIL_BYTES;
  if (bytesNeeded > MAX_BYTES) return null;
  const pages = Math.max(1, Math.ceil(bytesNeeded / PAGE));
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  } catch {
    return null;
  }
  if (!(memory.buffer instanceof SharedArrayBuffer)) return null;
  return { memory, threads: scratch, regions };
}
