/**
 * WebAssembly SIMD relu / relu6 / bias_add / bias_add + relu / batch_norm / maxpool over a WebAssembly.Memory: the
 * JavaScript side of ./elementwise-module.ts.
 *
 * Same arguments and the same bits as the JS kernels (../elementwise.ts, ../maxpool.ts; NaN
 * payloads aside), on any element / output-pixel range [start, end), so a scheduler may split a
 * step anywhere. Operands are Float32Array views of the memory plus element offsets (any
 * offset: vector accesses need no alignment).
 *
 * Binding: one instance per memory and thread. `wasmElementwiseFor(mem)` derives it from the
 * program memory's GEMM (`Memory.gemm`): when that is a WasmGemm, it instantiates the module on
 * its memory (the shared-memory build when that memory is shared, as in the workers backend),
 * once per WasmGemm, so every thread that binds its own WasmGemm gets its own instance without
 * any other plumbing. Otherwise (JS GEMM path, no SIMD) it returns null and callers run the JS
 * kernels.
 */
import { imagesOfRows, type Conv2dGeometry } from '../conv2d.js';
import { jsElementwise, type ElementwiseKernels } from '../elementwise.js';
import type { Gemm } from '../gemm-call.js';
import type { Memory } from '../../program.js';
import { buildElementwiseModule } from './elementwise-module.js';
import { CompiledModule, SHARED_MAX_PAGES, wasmSimdSupported } from './module.js';
import { WasmGemm } from './gemm.js';
import { MemoryViews } from './views.js';

const builds = [false, true].map(
  (shared) =>
    new CompiledModule(
      () => buildElementwiseModule({ module: 'env', name: 'memory', minPages: 1, ...(shared ? { shared: { maxPages: SHARED_MAX_PAGES } } : {}) }),
      wasmSimdSupported,
    ),
);

/**
 * The compiled module for an unshared (`shared` false) or shared memory import, or null
 * without SIMD support. Compiles synchronously on first use (the module is a few KB; a browser
 * main thread should call `loadWasmElementwiseModule` first).
 */
export function wasmElementwiseModule(shared = false): WebAssembly.Module | null {
  return builds[shared ? 1 : 0].get();
}

/** Compiles the module asynchronously (once per kind); resolves to null without SIMD support. */
export function loadWasmElementwiseModule(shared = false): Promise<WebAssembly.Module | null> {
  return builds[shared ? 1 : 0].load();
}

type Fn3 = (x: number, y: number, n: number) => void;
type BiasFn = (x: number, y: number, bias: number, C: number, ch: number, n: number) => void;
type BatchNormFn = (x: number, y: number, a: number, mean: number, offset: number, C: number, ch: number, n: number) => void;
type StrassenFn = (...args: number[]) => number;
type PoolFn = (
  x: number, y: number, C: number, inH: number, inW: number, kH: number, kW: number,
  sH: number, sW: number, dH: number, dW: number, padT: number, padL: number, outH: number, outW: number,
  n: number, oh: number, ow: number, rows: number,
) => void;

/**
 * Elements [off + start, off + end) of arr must exist. `off` alone may be negative: a chain that
 * keeps a value per thread (backend-workers' tiles) offsets it so that its units land there.
 */
function checkRange(what: string, arr: Float32Array, off: number, start: number, end: number): void {
  if (!(0 <= start && start <= end && off + start >= 0 && off + end <= arr.length)) {
    throw new RangeError(`${what}: [${off + start}, ${off + end}) outside buffer of ${arr.length}`);
  }
}

/** The kernels bound to one memory (one instance; use one per thread). */
export class WasmElementwise implements ElementwiseKernels {
  private readonly reluFn: Fn3;
  private readonly relu6Fn: Fn3;
  private readonly batchNormFn: BatchNormFn;
  private readonly biasFn: BiasFn;
  private readonly biasReluFn: BiasFn;
  private readonly poolFn: PoolFn;
  private readonly splitFn: StrassenFn;
  private readonly mergeFn: StrassenFn;

  /**
   * `views`: how to recognize views of the memory (the GEMM's, which can probe its scratch, when
   * bound next to one; else by buffer identity).
   */
  constructor(
    readonly memory: WebAssembly.Memory,
    module: WebAssembly.Module | null = wasmElementwiseModule(memory.buffer instanceof SharedArrayBuffer),
    private readonly views = new MemoryViews(memory, null),
  ) {
    if (!module) throw new Error('WebAssembly SIMD is not available');
    const e = new WebAssembly.Instance(module, { env: { memory } }).exports;
    this.reluFn = e.relu as Fn3;
    this.relu6Fn = e.relu6 as Fn3;
    this.batchNormFn = e.batch_norm as BatchNormFn;
    this.biasFn = e.bias_add as BiasFn;
    this.biasReluFn = e.bias_add_relu as BiasFn;
    this.poolFn = e.maxpool as PoolFn;
    this.splitFn = e.strassen_split as StrassenFn;
    this.mergeFn = e.strassen_merge as StrassenFn;
  }

  /** True if arr is a view of this memory (else use the JS kernels). */
  owns(arr: Float32Array): boolean {
    return this.views.has(arr);
  }

  private address(arr: Float32Array, off: number): number {
    if (!this.views.has(arr)) throw new RangeError('WasmElementwise: operand is not a view of the wasm memory');
    return arr.byteOffset + 4 * off;
  }

  /** y[yOff+i] = relu(x[xOff+i]) for i in [start, end); x and y equal or disjoint. */
  relu(x: Float32Array, xOff: number, y: Float32Array, yOff: number, start: number, end: number): void {
    this.clamp('relu', this.reluFn, x, xOff, y, yOff, start, end);
  }

  /** y[yOff+i] = relu6(x[xOff+i]) for i in [start, end); x and y equal or disjoint. */
  relu6(x: Float32Array, xOff: number, y: Float32Array, yOff: number, start: number, end: number): void {
    this.clamp('relu6', this.relu6Fn, x, xOff, y, yOff, start, end);
  }

  private clamp(what: string, fn: Fn3, x: Float32Array, xOff: number, y: Float32Array, yOff: number, start: number, end: number): void {
    if (end <= start) return;
    checkRange(`${what} x`, x, xOff, start, end);
    checkRange(`${what} y`, y, yOff, start, end);
    fn(this.address(x, xOff + start), this.address(y, yOff + start), end - start);
  }

  /** As the JS `batchNorm` (../elementwise.ts); every array a view of this memory. */
  batchNorm(
    x: Float32Array, xOff: number, y: Float32Array, yOff: number, a: Float32Array, aOff: number,
    mean: Float32Array, meanOff: number, offset: Float32Array, offsetOff: number, channels: number, start: number, end: number,
  ): void {
    if (end <= start) return;
    if (!(channels > 0)) throw new RangeError(`batchNorm: channels must be positive, got ${channels}`);
    checkRange('batchNorm x', x, xOff, start, end);
    checkRange('batchNorm y', y, yOff, start, end);
    for (const [what, arr, off] of [['a', a, aOff], ['mean', mean, meanOff], ['offset', offset, offsetOff]] as const) checkRange(`batchNorm ${what}`, arr, off, 0, channels);
    this.batchNormFn(
      this.address(x, xOff + start), this.address(y, yOff + start), this.address(a, aOff), this.address(mean, meanOff), this.address(offset, offsetOff),
      channels, start % channels, end - start,
    );
  }

  /** y[yOff+i] = x[xOff+i] + bias[biasOff + i mod channels] (then relu) for i in [start, end). */
  biasAdd(
    x: Float32Array, xOff: number,
    bias: Float32Array, biasOff: number, channels: number,
    y: Float32Array, yOff: number,
    start: number, end: number, relu = false,
  ): void {
    if (end <= start) return;
    if (!(channels > 0)) throw new RangeError(`biasAdd: channels must be positive, got ${channels}`);
    checkRange('biasAdd x', x, xOff, start, end);
    checkRange('biasAdd y', y, yOff, start, end);
    checkRange('biasAdd bias', bias, biasOff, 0, channels);
    (relu ? this.biasReluFn : this.biasFn)(
      this.address(x, xOff + start), this.address(y, yOff + start), this.address(bias, biasOff),
      channels, start % channels, end - start,
    );
  }

  /**
   * One Strassen level's operand sums (core's STRASSEN_PRODUCTS): from the blocks of `a` at
   * offsets `blocks` (11, 12, 21, 22; row stride `lda`) into S1..S4 of `s` at `sums` (row stride
   * `lds`), `rows` x `cols` floats each, `cols` a multiple of 4.
   */
  strassenSplit(a: Float32Array, blocks: readonly number[], lda: number, s: Float32Array, sums: readonly number[], lds: number, rows: number, cols: number): void {
    if (rows === 0) return;
    const addresses = [...this.blockAddresses('strassenSplit a', a, blocks, lda, rows, cols), ...this.blockAddresses('strassenSplit s', s, sums, lds, rows, cols)];
    this.splitFn(...addresses.slice(0, 4), 4 * lda, ...addresses.slice(4), 4 * lds, rows, 4 * cols);
  }

  /**
   * One Strassen level's output blocks (11, 12, 21, 22 of `c` at `blocks`, row stride `ldc`) from
   * its seven products (of `p` at `products`, row stride `ldp`); true if any output is not finite.
   */
  strassenMerge(p: Float32Array, products: readonly number[], ldp: number, c: Float32Array, blocks: readonly number[], ldc: number, rows: number, cols: number): boolean {
    if (rows === 0) return false;
    const pa = this.blockAddresses('strassenMerge p', p, products, ldp, rows, cols);
    const ca = this.blockAddresses('strassenMerge c', c, blocks, ldc, rows, cols);
    return this.mergeFn(...pa, 4 * ldp, ...ca, 4 * ldc, rows, 4 * cols) !== 0;
  }

  /** Byte addresses of rows x cols blocks of `arr` at `offsets` (row stride `ld`), each checked inside it. */
  private blockAddresses(what: string, arr: Float32Array, offsets: readonly number[], ld: number, rows: number, cols: number): number[] {
    if (cols % 4 !== 0) throw new RangeError(`${what}: ${cols} columns, not a multiple of 4`);
    return offsets.map((off) => {
      checkRange(what, arr, off, 0, (rows - 1) * ld + cols);
      return this.address(arr, off);
    });
  }

  /** As the JS `maxpool`: output pixels [rowStart, rowEnd); y must not overlap x. */
  maxpool(
    g: Conv2dGeometry,
    x: Float32Array, xOff: number,
    y: Float32Array, yOff: number,
    rowStart: number, rowEnd: number,
  ): void {
    const { inH, inW, inC: C, outH, outW } = g;
    const M = g.batch * outH * outW;
    if (g.outC !== C) throw new RangeError(`maxpool: outC ${g.outC} != inC ${C}`);
    if (!(0 <= rowStart && rowStart <= rowEnd && rowEnd <= M)) {
      throw new RangeError(`maxpool: bad row range [${rowStart}, ${rowEnd}) for ${M} output pixels`);
    }
    if (rowStart === rowEnd || C === 0) return;
    // Only the images the rows pool from are read, addressed from the first of them.
    const { first, end, floats, firstRow } = imagesOfRows(g, rowStart, rowEnd);
    checkRange('maxpool x', x, xOff, first * floats, end * floats);
    checkRange('maxpool y', y, yOff, rowStart * C, rowEnd * C);
    const rem = rowStart - firstRow;
    const oh = Math.floor(rem / outW);
    const ow = rem - oh * outW;
    this.poolFn(
      this.address(x, xOff + first * floats), this.address(y, yOff + rowStart * C), C, inH, inW, g.kH, g.kW,
      g.strideH, g.strideW, g.dilationH, g.dilationW, g.padTop, g.padLeft, outH, outW,
      0, oh, ow, rowEnd - rowStart,
    );
  }
}

/** Instances by the GEMM they sit next to (one per memory and thread); null: not available. */
const bound = new WeakMap<Gemm, WasmElementwise | null>();

/** The wasm kernels next to a wasm GEMM (bound on first use), or null. */
function boundTo(gemm: Gemm): WasmElementwise | null {
  let e = bound.get(gemm);
  if (e === undefined) {
    e = null;
    try {
      if (gemm instanceof WasmGemm) {
        const module = wasmElementwiseModule(gemm.memory.buffer instanceof SharedArrayBuffer);
        if (module) e = new WasmElementwise(gemm.memory, module, gemm.views);
      }
    } catch {
      e = null;
    }
    bound.set(gemm, e);
  }
  return e;
}

/**
 * The wasm kernels for a program memory: bound to the memory of its GEMM (`Memory.gemm`) on first
 * use (per GEMM, so per thread), or null when that GEMM is not a wasm one, SIMD is missing, or one
 * of the views `a`, `b`, `c` is not in that memory (the caller then runs the JS kernel: same
 * bits). Called for every range a kernel runs: fixed parameters, so it allocates nothing.
 */
export function wasmElementwiseFor(mem: Memory, a: Float32Array, b: Float32Array, c?: Float32Array): WasmElementwise | null {
  const e = mem.gemm ? boundTo(mem.gemm) : null;
  return e && e.owns(a) && e.owns(b) && (c === undefined || e.owns(c)) ? e : null;
}

/**
 * The element-wise kernels to run on views `a`, `b`, `c` of a program memory: the wasm ones
 * where `wasmElementwiseFor` finds them, else the TypeScript ones (same bits).
 */
export function elementwiseFor(mem: Memory, a: Float32Array, b: Float32Array, c?: Float32Array): ElementwiseKernels {
  return wasmElementwiseFor(mem, a, b, c) ?? jsElementwise;
}
