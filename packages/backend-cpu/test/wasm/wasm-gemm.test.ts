/**
 * The WebAssembly SIMD GEMM against a naive float64 triple loop (the bound
 * |y - ref| <= 2(K+2)2^-24 sum|a_k b_k| + 1e-30), plus its determinism
 * contract: bit-identical results whatever the row split.
 */
import { describe, expect, it } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { gemm, packB } from '../../src/kernels/gemm.js';
import { createWasmArena, type WasmArena } from '../../src/kernels/wasm/arena.js';
import { WASM_GEMM_CONFIG, WASM_MR, WASM_NR, WasmGemm, packBWasmInto, wasmGemmModule, wasmPackedBSize } from '../../src/kernels/wasm/gemm.js';
import { wasmSimdSupported } from '../../src/kernels/wasm/module.js';
import { SENTINEL, callOf, caseCall, extract, firstBitDifference, firstViolation, gemmCaseArb, gemmReference, paddingUntouched, randomArray, splitRanges, type GemmCase } from '../kernels/helpers.js';

/** The case's operands copied into one wasm memory: [A, packed B, C, bias, B scratch]. */
function load(t: GemmCase): { arena: WasmArena; A: Float32Array; C: Float32Array; bias: Float32Array; B: Float32Array; scratch: Float32Array } {
  const arena = createWasmArena([t.a.length, wasmPackedBSize(t.K, t.N) + 3, t.c.length, t.epilogue.bias?.length ?? 0, t.b.length + wasmPackedBSize(t.K, t.N) + 8])!;
  const [A, PB, C, bias, scratch] = arena.regions;
  A.set(t.a);
  C.set(t.c);
  if (t.epilogue.bias) bias.set(t.epilogue.bias);
  return { arena, A, C, bias, B: PB, scratch };
}

/** Runs the wasm GEMM on the given row ranges (in that order); returns a copy of C. */
function runWasm(t: GemmCase, ranges: Array<[number, number]>, packOff = 0): Float32Array {
  const { arena, A, C, bias, B } = load(t);
  packBWasmInto(B, packOff, t.K, t.N, t.b, t.bOff, t.ldb, t.transB);
  for (const [r0, r1] of ranges) arena.gemm.run(caseCall(t, A, B, packOff, C, bias, r0, r1));
  return C.slice();
}

function checkBound(t: GemmCase, c: Float32Array): void {
  const { ref, absSum } = gemmReference(t);
  expect(firstViolation(extract(t, c), ref, absSum, t.K)).toBeUndefined();
  expect(paddingUntouched(t, c)).toBe(true);
}

describe('wasm SIMD gemm', () => {
  it('is available in this runtime (Node 20 has WebAssembly SIMD), so the tests below exercise it', () => {
    expect(wasmSimdSupported()).toBe(true);
    expect(wasmGemmModule()).not.toBeNull();
  });

  test.prop([gemmCaseArb([1, 3 * WASM_MR + 2], [1, 3 * WASM_NR + 3], [1, 40])], { numRuns: 300 })(
    'small shapes (every row / column edge) are within the bound and write nothing outside C',
    (t) => checkBound(t, runWasm(t, [[0, t.M]])),
  );

  test.prop([gemmCaseArb([1, 2 * WASM_GEMM_CONFIG.MC + 7], [1, 20], [200, 700])], { numRuns: 40 })(
    'deep K (several k-blocks) and M past one MC block are within the bound',
    (t) => checkBound(t, runWasm(t, [[0, t.M]])),
  );

  test.prop([gemmCaseArb([1, 9], [WASM_GEMM_CONFIG.NC - 9, WASM_GEMM_CONFIG.NC + 21], [1, 12])], { numRuns: 10 })(
    'N past one NC block is within the bound',
    (t) => checkBound(t, runWasm(t, [[0, t.M]])),
  );

  test.prop([gemmCaseArb([1, 150], [1, 30], [1, 300]), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 3 })], { numRuns: 120 })(
    'disjoint row ranges (any order) are bit-identical to one full-range call',
    (t, cuts) => {
      const full = runWasm(t, [[0, t.M]]);
      const split = runWasm(t, splitRanges(t.M, cuts).reverse());
      expect(firstBitDifference(full, split)).toBe(-1);
    },
  );

  test.prop([gemmCaseArb([1, 30], [1, 30], [1, 70])], { numRuns: 30 })(
    'runs are deterministic, and independent of where packed B lies in memory',
    (t) => {
      const first = runWasm(t, [[0, t.M]]);
      expect(firstBitDifference(first, runWasm(t, [[0, t.M]], 0))).toBe(-1);
      expect(firstBitDifference(first, runWasm(t, [[0, t.M]], 3))).toBe(-1);
    },
  );

  test.prop([gemmCaseArb([1, 40], [1, 40], [1, 70]), fc.integer({ min: 0, max: 7 })], { numRuns: 60 })(
    'B packed at run time from the wasm memory into its scratch is bit-identical to the prepacked call',
    (t, scratchOff) => {
      const full = runWasm(t, [[0, t.M]]);
      const { arena, A, C, bias, scratch } = load(t);
      scratch.set(t.b);
      const bOff = t.b.length + scratchOff;
      arena.gemm.packB(scratch, bOff, t.K, t.N, scratch, t.bOff, t.ldb, t.transB);
      arena.gemm.run(caseCall(t, A, scratch, bOff, C, bias, 0, t.M));
      expect(firstBitDifference(full, C)).toBe(-1);
    },
  );

  it('a packed B copied elsewhere gives the same bits', () => {
    const [M, N, K] = [7, 19, 33];
    const a = randomArray(M * K, 5);
    const b = randomArray(K * N, 6);
    const w = createWasmArena([M * K, wasmPackedBSize(K, N), wasmPackedBSize(K, N) + 4, M * N, M * N])!;
    const [A, P1, P2, C1, C2] = w.regions;
    A.set(a);
    packBWasmInto(P1, 0, K, N, b, 0, N, false);
    P2.set(P1, 4);
    const call = { M, N, K, a: A, lda: K, ldc: N, rowEnd: M };
    w.gemm.run(callOf({ ...call, b: P1, c: C1 }));
    w.gemm.run(callOf({ ...call, b: P2, bOff: 4, c: C2 }));
    expect(firstBitDifference(C1, C2)).toBe(-1);
  });

  it('propagates NaN and Infinity, and relu keeps NaN as NaN (full and edge tiles)', () => {
    // M = MR + 1 rows, N = NR + 2 columns: one full tile, row edge, column edge.
    const M = WASM_MR + 1, N = WASM_NR + 2, K = 2;
    const a = new Float32Array(M * K).fill(1);
    a[0] = NaN; // row 0 is NaN everywhere
    a[1 * K] = -1; a[1 * K + 1] = -1; // row 1: negative sums, relu -> 0
    const b = new Float32Array(K * N).fill(1);
    b[3] = Infinity; // column 3: +Inf for positive rows
    b[N + N - 1] = Infinity; // last (edge) column
    const w = createWasmArena([M * K, wasmPackedBSize(K, N), M * N, N])!;
    const [A, P, C, bias] = w.regions;
    A.set(a);
    bias.fill(0.5);
    bias[N - 2] = NaN;
    packBWasmInto(P, 0, K, N, b, 0, N, false);
    w.gemm.run(callOf({ M, N, K, a: A, lda: K, b: P, c: C, ldc: N, bias, activation: 'relu', rowEnd: M }));
    for (let n = 0; n < N; n++) expect(Number.isNaN(C[n])).toBe(true); // NaN row survives relu
    for (let n = 0; n < N; n++) {
      if (n === N - 2) expect(Number.isNaN(C[N + n])).toBe(true); // NaN bias
      else expect(C[N + n]).toBe(0); // -2 (or -Inf) + 0.5 < 0 -> 0
    }
    for (let i = 2; i < M; i++) {
      expect(C[i * N + 0]).toBe(2.5);
      expect(C[i * N + 3]).toBe(Infinity);
      expect(C[i * N + N - 1]).toBe(Infinity);
      expect(Number.isNaN(C[i * N + N - 2])).toBe(true);
    }
    // Inf * 0 = NaN: a zero row times an infinite column.
    const z = createWasmArena([K, wasmPackedBSize(K, 1), 1])!;
    const bz = new Float32Array([Infinity, 1]);
    packBWasmInto(z.regions[1], 0, K, 1, bz, 0, 1, false);
    z.gemm.run(callOf({ M: 1, N: 1, K, a: z.regions[0], lda: K, b: z.regions[1], c: z.regions[2], ldc: 1, activation: 'relu', rowEnd: 1 }));
    expect(Number.isNaN(z.regions[2][0])).toBe(true);
  });

  it('relu maps negatives to +0 and keeps the rest, like `v <= 0 ? 0 : v`', () => {
    const N = WASM_NR, K = 1;
    const w = createWasmArena([1, wasmPackedBSize(K, N), N])!;
    const [A, P, C] = w.regions;
    A[0] = 1;
    const b = new Float32Array([-0, 0, -1, 1, -Infinity, Infinity, -1e-38, 3]);
    packBWasmInto(P, 0, K, N, b, 0, N, false);
    w.gemm.run(callOf({ M: 1, N, K, a: A, lda: K, b: P, c: C, ldc: N, activation: 'relu', rowEnd: 1 }));
    expect(C[0]).toBe(0); // +0 + 1*(-0) = +0: a sum never yields -0 here
    expect(Array.from(C.slice(1))).toEqual([0, 0, 1, 0, Infinity, 0, 3]);
  });

  it('relu6 clamps to [+0, 6] and keeps NaN, in full and edge tiles (N = NR + 3)', () => {
    const N = WASM_NR + 3, K = 1;
    const w = createWasmArena([1, wasmPackedBSize(K, N), N])!;
    const [A, P, C] = w.regions;
    A[0] = 1;
    const row = [-0, -1, 6, 6.5, Infinity, NaN, 5.5, 7];
    const b = new Float32Array([...row, ...row.slice(3, 6)]);
    packBWasmInto(P, 0, K, N, b, 0, N, false);
    w.gemm.run(callOf({ M: 1, N, K, a: A, lda: K, b: P, c: C, ldc: N, activation: 'relu6', rowEnd: 1 }));
    const want = [0, 0, 6, 6, 6, NaN, 5.5, 6, 6, 6, NaN];
    expect(Array.from(C)).toEqual(want);
    expect(Object.is(C[0], 0) && Object.is(C[1], 0)).toBe(true);
  });

  it('K = 0 writes bias (then relu) only', () => {
    const w = createWasmArena([0, 0, 4, 2])!;
    const [A, P, C, bias] = w.regions;
    bias.set([-1, 3]);
    C.fill(SENTINEL);
    w.gemm.run(callOf({ M: 2, N: 2, K: 0, a: A, b: P, c: C, ldc: 2, bias, activation: 'relu', rowEnd: 2 }));
    expect(Array.from(C)).toEqual([0, 3, 0, 3]);
  });

  it('rejects bad row ranges, a mismatched packed B, and operands outside the wasm memory', () => {
    const w = createWasmArena([4, wasmPackedBSize(2, 2), 4])!;
    const [A, P, C] = w.regions;
    packBWasmInto(P, 0, 2, 2, new Float32Array(4), 0, 2, false);
    const ok = { M: 2, N: 2, K: 2, a: A, lda: 2, b: P, c: C, ldc: 2, rowEnd: 2 };
    w.gemm.run(callOf(ok));
    expect(() => w.gemm.run(callOf({ ...ok, rowEnd: 3 }))).toThrow(RangeError);
    expect(() => w.gemm.run(callOf({ ...ok, bOff: 4 }))).toThrow(RangeError);
    expect(() => w.gemm.run(callOf({ ...ok, a: new Float32Array(4) }))).toThrow(RangeError);
    expect(() => w.gemm.run(callOf({ ...ok, aOff: 1 }))).toThrow(RangeError);
    expect(() => new WasmGemm(w.memory, w.memory.buffer.byteLength)).toThrow(RangeError);
  });

  it('checks the rows a call accesses, not its offsets alone: A and C moved back by the rows before the range (a chain tile) give the same rows', () => {
    const [M, K, N] = [4, 3, 2];
    const w = createWasmArena([M * K, wasmPackedBSize(K, N), M * N, 2 * K, 2 * N])!;
    const [A, P, C, A2, C2] = w.regions;
    A.set(randomArray(M * K, 7));
    packBWasmInto(P, 0, K, N, randomArray(K * N, 8), 0, N, false);
    const call = { M, N, K, lda: K, b: P, ldc: N };
    w.gemm.run(callOf({ ...call, a: A, c: C, rowEnd: M }));
    A2.set(A.subarray(2 * K)); // rows 2 and 3 only, at the start of A2
    const tile = { ...call, a: A2, aOff: -2 * K, c: C2, cOff: -2 * N, rowEnd: 4 };
    w.gemm.run(callOf({ ...tile, rowStart: 2 }));
    expect(firstBitDifference(C2, C.subarray(2 * N))).toBe(-1);
    expect(() => w.gemm.run(callOf({ ...tile, rowStart: 1 }))).toThrow(RangeError); // row 1 of A
  });

  it('im2col reads only the images of its rows: x moved back by one image gives the same rows of image 1', () => {
    const g = { batch: 2, inH: 4, inW: 4, inC: 2, kH: 3, kW: 3, outC: 1, outH: 4, outW: 4, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 1, padLeft: 1 };
    const item = 4 * 4 * 2;
    const K = 3 * 3 * 2;
    const w = createWasmArena([2 * item, item, 16 * K, 16 * K])!;
    const [X, X1, D, D1] = w.regions;
    X.set(randomArray(2 * item, 9));
    X1.set(X.subarray(item)); // image 1 only
    w.gemm.im2col(g, X, 0, D, 0, 16, 32);
    w.gemm.im2col(g, X1, -item, D1, 0, 16, 32);
    expect(firstBitDifference(D1, D)).toBe(-1);
    expect(() => w.gemm.im2col(g, X1, -item, D1, 0, 15, 31)).toThrow(RangeError); // row 15 is in image 0
  });
});

describe('wasm gemm and the JS gemm with float32 rounding', () => {
  test.prop([gemmCaseArb([1, 80], [1, 40], [1, 600])], { numRuns: 120 })(
    'give the same bits (same float32 operations, same k-blocks), epilogue included',
    (t) => {
      const wasm = runWasm(t, [[0, t.M]]);
      const c = t.c.slice();
      gemm(caseCall(t, t.a, packB(t.K, t.N, t.b, t.bOff, t.ldb, t.transB), 0, c, t.epilogue.bias ?? null, 0, t.M));
      expect(firstBitDifference(wasm, c)).toBe(-1);
    },
  );
});
