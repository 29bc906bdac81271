/**
 * The wasm GEMM on a shared WebAssembly.Memory (what the workers backend runs): the module
 * compiled for a shared memory import, one memory with a scratch region per thread, and one
 * instance per thread. Same bits as the GEMM on an unshared memory, whatever the instance.
 */
import { describe, expect, it } from 'vitest';
import { createSharedWasmArena, createWasmArena } from '../../src/kernels/wasm/arena.js';
import { WASM_GEMM_SCRATCH_BYTES, WasmGemm, loadSharedWasmGemmModule, packBWasmInto, wasmPackedBSize } from '../../src/kernels/wasm/gemm.js';
import { sharedWasmMemorySupported, wasmSimdSupported } from '../../src/kernels/wasm/module.js';
import { callOf, randomArray } from '../kernels/helpers.js';

describe.skipIf(!wasmSimdSupported() || !sharedWasmMemorySupported())('wasm GEMM on a shared memory', () => {
  it('lays out one scratch region per thread, then the regions, 64-byte aligned, in a fixed-size shared memory', () => {
    const arena = createSharedWasmArena(3, 1000, [12345, 7])!;
    expect(arena.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(arena.threads).toHaveLength(3);
    const spans = [
      ...arena.threads.flatMap((t) => [
        [t.gemmByteOffset, WASM_GEMM_SCRATCH_BYTES],
        [t.scratchByteOffset, 4 * t.scratchLength],
      ]),
      ...arena.regions.map((r) => [r.byteOffset, 4 * r.length]),
    ];
    for (const [off] of spans) expect(off % 64).toBe(0);
    for (let i = 1; i < spans.length; i++) expect(spans[i][0]).toBeGreaterThanOrEqual(spans[i - 1][0] + spans[i - 1][1]);
    const [last] = arena.regions.slice(-1);
    expect(last.byteOffset + 4 * last.length).toBeLessThanOrEqual(arena.memory.buffer.byteLength);
    expect(() => arena.memory.grow(1)).toThrow();
  });

  it('gives the same bits on every thread instance as on an unshared memory, split or not', async () => {
    const module = (await loadSharedWasmGemmModule())!;
    expect(module).not.toBeNull();
    const [M, N, K] = [37, 29, 301];
    const a = randomArray(M * K, 1);
    const b = randomArray(K * N, 2);
    const bias = randomArray(N, 3);
    const sizes = [M * K, wasmPackedBSize(K, N), M * N, N];
    const plain = createWasmArena(sizes)!;
    const [pa, pb, pc, pbias] = plain.regions;
    pa.set(a);
    pbias.set(bias);
    packBWasmInto(pb, 0, K, N, b, 0, N, false);
    const call = { M, N, K, lda: K, ldc: N, activation: 'relu' as const };
    plain.gemm.run(callOf({ ...call, a: pa, b: pb, c: pc, bias: pbias, rowEnd: M }));

    const shared = createSharedWasmArena(2, 0, sizes)!;
    const buf = shared.memory.buffer;
    const [sa, sb, sc, sbias] = shared.regions.map((r) => new Float32Array(buf, r.byteOffset, r.length));
    sa.set(a);
    sbias.set(bias);
    packBWasmInto(sb, 0, K, N, b, 0, N, false);
    const threads = shared.threads.map((t) => new WasmGemm(shared.memory, t.gemmByteOffset, module));
    // Thread 0 computes rows [0, 16), thread 1 the rest.
    const operands = { ...call, a: sa, b: sb, c: sc, bias: sbias };
    threads[0].run(callOf({ ...operands, rowEnd: 16 }));
    threads[1].run(callOf({ ...operands, rowStart: 16, rowEnd: M }));
    expect(Array.from(sc).every((v, i) => Object.is(v, pc[i]))).toBe(true);
  });
});
