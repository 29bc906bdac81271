/**
 * Issue 20: in V8, growing any shared WebAssembly.Memory gives every shared memory of the thread
 * a new `.buffer` object (same memory, same data); views made before keep the old one. The wasm
 * kernels must still recognize those views as their memory (and foreign buffers as foreign).
 */
import { describe, expect, it } from 'vitest';
import { createSharedWasmArena } from '../../src/kernels/wasm/arena.js';
import { wasmElementwiseFor } from '../../src/kernels/wasm/elementwise.js';
import { WasmGemm, loadSharedWasmGemmModule, packBWasmInto, wasmPackedBSize } from '../../src/kernels/wasm/gemm.js';
import { sharedWasmMemorySupported, wasmSimdSupported } from '../../src/kernels/wasm/module.js';
import { callOf, firstBitDifference, randomArray } from '../kernels/helpers.js';

const growUnrelatedSharedMemory = () => new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true }).grow(1);

describe.skipIf(!wasmSimdSupported() || !sharedWasmMemorySupported())('wasm kernels after an unrelated shared memory grows', () => {
  it('keep running on views made before and after, with the same bits, and refuse a foreign buffer', async () => {
    const module = (await loadSharedWasmGemmModule())!;
    const [M, N, K] = [9, 13, 21];
    const shared = createSharedWasmArena(1, 0, [M * K, wasmPackedBSize(K, N), M * N, M * N])!;
    const views = () => shared.regions.map((r) => new Float32Array(shared.memory.buffer, r.byteOffset, r.length));
    const [A, P, C1, C2] = views();
    const gemm = new WasmGemm(shared.memory, shared.threads[0].gemmByteOffset, module);
    A.set(randomArray(M * K, 1));
    packBWasmInto(P, 0, K, N, randomArray(K * N, 2), 0, N, false);
    const call = { M, N, K, a: A, lda: K, b: P, ldc: N, activation: 'relu' as const, rowEnd: M };
    gemm.run(callOf({ ...call, c: C1 }));

    const before = shared.memory.buffer;
    growUnrelatedSharedMemory();
    expect(shared.memory.buffer).not.toBe(before); // the V8 behaviour this guards against
    expect(gemm.owns(A)).toBe(true);
    gemm.run(callOf({ ...call, c: C2 }));
    expect(firstBitDifference(C1, C2)).toBe(-1);
    // Views made after the grow (a new buffer object) mixed with the old ones.
    const [, , , C3] = views();
    gemm.run(callOf({ ...call, c: C3 }));
    expect(firstBitDifference(C1, C3)).toBe(-1);
    expect(wasmElementwiseFor({ arena: A, weights: P, gemm }, A, C3)).not.toBeNull();
    // A shared buffer of the same size that is not this memory.
    const foreign = new Float32Array(new SharedArrayBuffer(shared.memory.buffer.byteLength));
    expect(gemm.owns(foreign)).toBe(false);
    expect(() => gemm.run(callOf({ ...call, c: foreign }))).toThrow(RangeError);
  });
});
