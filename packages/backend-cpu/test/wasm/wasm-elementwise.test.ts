/**
 * The wasm SIMD relu / relu6 / bias_add / batch_norm / maxpool (kernels/wasm/elementwise.ts): bit-identical to the JS
 * kernels (NaN payloads aside) on random shapes, channels 1..70, special values (NaN, ±Inf, ±0),
 * unaligned offsets and split ranges, on plain and shared memories (one instance per thread),
 * and equal to Math.max / float32 add references; through the cpu backend, the same bits as the
 * JS path and within core's `evaluate` bounds.
 */
import { describe, expect, it } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { GraphBuilder, evaluate, poolGeometry, randomTensor } from '@tessera/core';
import { planExecution } from '@tessera/runtime';
import { maxpool } from '../../src/kernels/maxpool.js';
import { jsElementwise, relu } from '../../src/kernels/elementwise.js';
import type { Conv2dGeometry } from '../../src/kernels/conv2d.js';
import { WasmElementwise, loadWasmElementwiseModule, wasmElementwiseFor, wasmElementwiseModule } from '../../src/kernels/wasm/elementwise.js';
import { createSharedWasmArena, createWasmArena } from '../../src/kernels/wasm/arena.js';
import { WasmGemm, loadSharedWasmGemmModule } from '../../src/kernels/wasm/gemm.js';
import { sharedWasmMemorySupported, wasmSimdSupported } from '../../src/kernels/wasm/module.js';
import { CpuBackend } from '../../src/index.js';
import { biasAdd, biasAddRelu, firstBitDifference, poolGeometryOf, poolReference, rng, splitRanges } from '../kernels/helpers.js';

const SPECIALS = [NaN, -0, 0, Infinity, -Infinity];
const int = (min: number, max: number) => fc.integer({ min, max });

/** Random data with a given rate of special values; values are a few distinct levels so ties (and ±0) happen. */
function data(n: number, seed: number, specialRate: number): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    if (u < specialRate) a[i] = SPECIALS[Math.floor(r() * SPECIALS.length)];
    else if (u < specialRate + 0.2) a[i] = Math.round(r() * 4 - 2) * 0.5; // ties, including 0
    else a[i] = r() * 2 - 1;
  }
  return a;
}

/** Floats of room in one test memory (two pages of slack for offsets). */
const MEMORY_FLOATS = 1 << 18;

/** A plain memory cut into regions (element offsets, unaligned on purpose). */
function plainMemory(): { memory: WebAssembly.Memory; f32: Float32Array; wasm: WasmElementwise } {
  const memory = new WebAssembly.Memory({ initial: (MEMORY_FLOATS * 4) / 65536 + 1, maximum: (MEMORY_FLOATS * 4) / 65536 + 1 });
  return { memory, f32: new Float32Array(memory.buffer, 0, MEMORY_FLOATS), wasm: new WasmElementwise(memory) };
}

const simd = wasmSimdSupported();

interface PoolCase { g: Conv2dGeometry; x: Float32Array; xOff: number; yOff: number }

const poolArb = fc.oneof(
  // Any geometry (dilations, paddings smaller than the window).
  fc.record({
    batch: int(1, 2), inH: int(1, 8), inW: int(1, 8), C: int(1, 70), kH: int(1, 4), kW: int(1, 4),
    strideH: int(1, 3), strideW: int(1, 3), dilationH: int(1, 2), dilationW: int(1, 2),
    pt: int(0, 3), pl: int(0, 3), pb: int(0, 3), pr: int(0, 3),
    xOff: int(0, 7), yOff: int(0, 7), special: fc.constantFrom(0, 0.05, 0.3), seed: fc.integer(),
  }).map((p): PoolCase => {
    const g = poolGeometryOf(p);
    return { g, x: data(g.batch * g.inH * g.inW * g.inC, p.seed, p.special), xOff: p.xOff, yOff: p.yOff };
  }),
  // tf's SAME / VALID pooling geometry (core's poolGeometry).
  fc.record({
    batch: int(1, 2), inH: int(1, 9), inW: int(1, 9), C: int(1, 70), kH: int(1, 4), kW: int(1, 4),
    sH: int(1, 3), sW: int(1, 3), padding: fc.constantFrom('SAME' as const, 'VALID' as const),
    xOff: int(0, 7), yOff: int(0, 7), special: fc.constantFrom(0, 0.05, 0.3), seed: fc.integer(),
  }).filter((p) => p.padding === 'SAME' || (p.kH <= p.inH && p.kW <= p.inW)).map((p): PoolCase => {
    const g = poolGeometry([p.batch, p.inH, p.inW, p.C], { ksize: [p.kH, p.kW], strides: [p.sH, p.sW], padding: p.padding });
    return { g, x: data(g.batch * g.inH * g.inW * g.inC, p.seed, p.special), xOff: p.xOff, yOff: p.yOff };
  }),
);

/** Same value (-0 equals +0, NaN equals NaN). */
function firstValueDifference(a: Float32Array, b: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!(a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i])))) return i;
  return a.length === b.length ? -1 : a.length;
}

const SENTINEL = 123.5;

describe.skipIf(!simd)('wasm elementwise kernels', () => {
  const { f32, wasm } = simd ? plainMemory() : ({} as ReturnType<typeof plainMemory>);

  /** Runs maxpool in the wasm memory over the given ranges; checks nothing outside y was written. */
  function poolWasm(t: PoolCase, ranges: Array<[number, number]>, w = wasm, mem = f32): Float32Array {
    const g = t.g;
    const xBase = 3 + t.xOff; // unaligned on purpose
    const yBase = xBase + t.x.length + 5 + t.yOff;
    const ySize = g.batch * g.outH * g.outW * g.inC;
    mem.set(t.x, xBase);
    mem.fill(SENTINEL, yBase - 4, yBase + ySize + 4);
    for (const [r0, r1] of ranges) w.maxpool(g, mem, xBase, mem, yBase, r0, r1);
    for (let i = 1; i <= 4; i++) {
      expect(mem[yBase - i]).toBe(SENTINEL);
      expect(mem[yBase + ySize - 1 + i]).toBe(SENTINEL);
    }
    return mem.slice(yBase, yBase + ySize);
  }

  function poolJs(t: PoolCase): Float32Array {
    const g = t.g;
    const y = new Float32Array(g.batch * g.outH * g.outW * g.inC);
    maxpool(g, t.x, 0, y, 0, 0, g.batch * g.outH * g.outW);
    return y;
  }

  test.prop([poolArb], { numRuns: 300 })(
    'maxpool: same bits as the JS kernel (±0 ties: first tap), same values as Math.max over the in-bounds taps',
    (t) => {
      const M = t.g.batch * t.g.outH * t.g.outW;
      const got = poolWasm(t, [[0, M]]);
      expect(firstBitDifference(got, poolJs(t))).toBe(-1);
      expect(firstValueDifference(got, poolReference(t.g, t.x, 0))).toBe(-1);
    },
  );

  test.prop([poolArb, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 3 })], { numRuns: 150 })(
    'maxpool over disjoint pixel ranges is bit-identical to one call',
    (t, cuts) => {
      const M = t.g.batch * t.g.outH * t.g.outW;
      expect(firstBitDifference(poolWasm(t, splitRanges(M, cuts)), poolJs(t))).toBe(-1);
    },
  );

  it('relu and bias_add + relu give +0 for -0 (docs/SEMANTICS.md, "The sign of zero") in the vector and scalar paths, as the JS kernels', () => {
    const n = 21; // 16 + 4 + 1: each loop of the kernel
    const x = new Float32Array(n).fill(-0);
    const bias = new Float32Array(3).fill(-0); // -0 + -0 = -0 before the relu
    const xBase = 5;
    const yBase = 64;
    f32.set(x, xBase);
    f32.set(bias, 40);
    for (const k of [() => wasm.relu(f32, xBase, f32, yBase, 0, n), () => wasm.biasAdd(f32, xBase, f32, 40, 3, f32, yBase, 0, n, true)]) {
      f32.fill(-0, yBase, yBase + n);
      k();
      expect(Array.from(f32.slice(yBase, yBase + n)).every((v) => Object.is(v, 0))).toBe(true);
    }
    const js = new Float32Array(n);
    relu(x, 0, js, 0, 0, n);
    expect(js.every((v) => Object.is(v, 0))).toBe(true);
    biasAddRelu(x, 0, bias, 0, 3, js.fill(-0), 0, 0, n);
    expect(js.every((v) => Object.is(v, 0))).toBe(true);
  });

  it('maxpool: -0 / +0 ties keep the first tap, NaN anywhere in a window wins, padding never wins', () => {
    const g = poolGeometry([1, 2, 2, 9], { ksize: [2, 2], strides: [1, 1], padding: 'SAME' });
    const x = new Float32Array(36).fill(-Infinity);
    x[0] = -0; x[9] = 0; // channel 0: first tap -0, second +0
    x[1] = 0; x[10] = -0; // channel 1: first +0
    x[2 + 27] = NaN; // channel 2: NaN in the last tap of window (0,0)
    x[3] = NaN; x[3 + 9] = Infinity; // channel 3: NaN first
    x[4 + 27] = NaN; x[4 + 18] = Infinity; // channel 4 (scalar-free: inside the first vector block)
    x[8] = NaN; // channel 8: scalar tail
    const t = { g, x, xOff: 0, yOff: 0 };
    const y = poolWasm(t, [[0, 4]]);
    expect(firstBitDifference(y, poolJs(t))).toBe(-1);
    expect(Object.is(y[0], -0)).toBe(true);
    expect(Object.is(y[1], 0)).toBe(true);
    expect(y[2]).toBeNaN();
    expect(y[3]).toBeNaN();
    expect(y[4]).toBeNaN();
    expect(y[8]).toBeNaN();
    // Pixel (1, 1) only sees x[27..36) (SAME padding below / right): -Infinity stays, NaN wins.
    expect(y[27 + 5]).toBe(-Infinity);
    expect(y[27 + 2]).toBeNaN();
  });

  const ewArb = fc.record({
    n: int(0, 700), channels: int(1, 70), xOff: int(0, 7), yOff: int(0, 7), biasOff: int(0, 7),
    inPlace: fc.boolean(), special: fc.constantFrom(0, 0.05, 0.3),
    cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 3 }), seed: fc.integer(),
  });

  test.prop([ewArb], { numRuns: 300 })(
    'relu / relu6 / bias_add / bias_add+relu / batch_norm: same bits as the JS kernels on split ranges, in place or not, and as float32 references',
    (p) => {
      const x = data(p.n, p.seed, p.special);
      const bias = data(p.channels, p.seed + 1, p.special);
      const ranges = splitRanges(p.n, p.cuts);
      const xBase = 1 + p.xOff;
      const bBase = xBase + p.n + 3 + p.biasOff;
      const yBase = p.inPlace ? xBase : bBase + p.channels + 2 + p.yOff;
      const kernels = [
        { name: 'relu', js: (y: Float32Array, r0: number, r1: number) => relu(x, 0, y, 0, r0, r1),
          wasm: (r0: number, r1: number) => wasm.relu(f32, xBase, f32, yBase, r0, r1) },
        { name: 'bias_add', js: (y: Float32Array, r0: number, r1: number) => biasAdd(x, 0, bias, 0, p.channels, y, 0, r0, r1),
          wasm: (r0: number, r1: number) => wasm.biasAdd(f32, xBase, f32, bBase, p.channels, f32, yBase, r0, r1) },
        { name: 'bias_add_relu', js: (y: Float32Array, r0: number, r1: number) => biasAddRelu(x, 0, bias, 0, p.channels, y, 0, r0, r1),
          wasm: (r0: number, r1: number) => wasm.biasAdd(f32, xBase, f32, bBase, p.channels, f32, yBase, r0, r1, true) },
        { name: 'relu6', js: (y: Float32Array, r0: number, r1: number) => jsElementwise.relu6(x, 0, y, 0, r0, r1),
          wasm: (r0: number, r1: number) => wasm.relu6(f32, xBase, f32, yBase, r0, r1) },
        // batch_norm with mean = bias, a = bias scaled, offset = bias reversed (in the memory after y).
        { name: 'batch_norm', js: (y: Float32Array, r0: number, r1: number) => jsElementwise.batchNorm(x, 0, y, 0, bnA, 0, bias, 0, bnOffset, 0, p.channels, r0, r1),
          wasm: (r0: number, r1: number) => wasm.batchNorm(f32, xBase, f32, yBase, f32, aBase, f32, bBase, f32, aBase + p.channels, p.channels, r0, r1) },
      ];
      const bnA = bias.map((v) => v * 3);
      const bnOffset = bias.slice().reverse();
      const aBase = bBase + p.channels + p.n + 16; // after y and the sentinel after it
      f32.set(bnA, aBase);
      f32.set(bnOffset, aBase + p.channels);
      for (const k of kernels) {
        f32.fill(SENTINEL, 0, yBase + p.n + 1);
        f32.set(x, xBase);
        f32.set(bias, bBase);
        for (const [r0, r1] of ranges) k.wasm(r0, r1);
        const want = new Float32Array(p.n);
        k.js(want, 0, p.n);
        expect(firstBitDifference(f32.slice(yBase, yBase + p.n), want), k.name).toBe(-1);
        if (!p.inPlace) expect(f32[yBase - 1]).toBe(SENTINEL);
        expect(f32[yBase + p.n]).toBe(SENTINEL);
        // Independent reference: float32 operations (stored one by one), relu(NaN) = NaN, relu(-0) = +0, relu6 as Math.min / Math.max.
        const f = new Float32Array(1);
        for (let i = 0; i < p.n; i++) {
          const c = i % p.channels;
          let v = k.name === 'relu' || k.name === 'relu6' ? x[i] : Math.fround(x[i] + bias[c]);
          if (k.name === 'batch_norm') {
            f[0] = x[i] - bias[c];
            f[0] *= bnA[c];
            f[0] += bnOffset[c];
            v = f[0];
          } else if (k.name === 'relu6') v = Math.min(Math.max(v, 0), 6);
          else if (k.name !== 'bias_add' && v <= 0) v = 0;
          const got = f32[yBase + i];
          if (!(Object.is(got, v) || (Number.isNaN(got) && Number.isNaN(v)))) throw new Error(`${k.name}[${i}] = ${got}, expected ${v}`);
        }
      }
    },
  );

  it('rejects ranges outside the operands and views of other memories', () => {
    expect(() => wasm.relu(f32, 0, f32, MEMORY_FLOATS - 2, 0, 4)).toThrow(RangeError);
    expect(() => wasm.relu(new Float32Array(8), 0, f32, 0, 0, 4)).toThrow(RangeError);
    expect(() => wasm.biasAdd(f32, 0, f32, MEMORY_FLOATS - 1, 3, f32, 0, 0, 4)).toThrow(RangeError);
    expect(wasm.owns(f32)).toBe(true);
    expect(wasm.owns(new Float32Array(4))).toBe(false);
  });

  it('checks the elements a call accesses, not its offset alone: a negative offset is fine when its range starts inside (a chain tile)', () => {
    f32.set([-1, 2, -3, 4, -5, 6], 0);
    wasm.relu(f32, -4, f32, 100 - 4, 4, 10); // x [0, 6) -> y [100, 106)
    expect([...f32.subarray(100, 106)]).toEqual([0, 2, 0, 4, 0, 6]);
    expect(() => wasm.relu(f32, -4, f32, 96, 2, 6)).toThrow(RangeError); // x from -2
    // maxpool reads only the images its rows pool from: rows of image 1 with image 0 before the memory.
    const g = poolGeometry([2, 4, 4, 1], { ksize: [2, 2], strides: [2, 2], padding: 'VALID' });
    const x = data(32, 5, 0);
    const y = new Float32Array(8);
    maxpool(g, x, 0, y, 0, 0, 8);
    f32.set(x.subarray(16), 0); // image 1 at 0, so image 0 would be at -16
    wasm.maxpool(g, f32, -16, f32, 200, 4, 8);
    expect(firstBitDifference(f32.slice(204, 208), y.subarray(4))).toBe(-1);
    expect(() => wasm.maxpool(g, f32, -16, f32, 200, 3, 8)).toThrow(RangeError); // row 3 is in image 0
  });

  it('binds once per WasmGemm of a program memory, and not without one', async () => {
    expect(await loadWasmElementwiseModule()).toBe(wasmElementwiseModule());
    const arena = createWasmArena([100, 100])!;
    const mem = { arena: arena.regions[0], weights: arena.regions[1], gemm: arena.gemm };
    const e = wasmElementwiseFor(mem, mem.arena, mem.weights)!;
    expect(e).toBeInstanceOf(WasmElementwise);
    expect(e.memory).toBe(arena.memory);
    expect(wasmElementwiseFor(mem, mem.weights, mem.arena, mem.arena)).toBe(e);
    // A view outside the memory, in any position: the caller runs the JS kernel.
    const outside = new Float32Array(4);
    expect(wasmElementwiseFor(mem, outside, mem.arena)).toBeNull();
    expect(wasmElementwiseFor(mem, mem.arena, outside)).toBeNull();
    expect(wasmElementwiseFor(mem, mem.arena, mem.weights, outside)).toBeNull();
    const plain = { arena: new Float32Array(4), weights: new Float32Array(4) };
    expect(wasmElementwiseFor(plain, plain.arena, plain.weights)).toBeNull();
  });

  describe.skipIf(!sharedWasmMemorySupported())('on a shared memory, one instance per thread', () => {
    it('gives the same bits as on a plain memory whatever the instance', async () => {
      const gemmModule = (await loadSharedWasmGemmModule())!;
      const shared = createSharedWasmArena(2, 0, [MEMORY_FLOATS])!;
      const region = shared.regions[0];
      const sf32 = new Float32Array(shared.memory.buffer, region.byteOffset, region.length);
      // As the workers do: each thread binds its own WasmGemm; the kernels follow it.
      const threads = shared.threads.map((t) => wasmElementwiseFor({ arena: sf32, weights: sf32, gemm: new WasmGemm(shared.memory, t.gemmByteOffset, gemmModule) }, sf32, sf32)!);
      expect(threads[0]).not.toBe(threads[1]);
      expect(await loadWasmElementwiseModule(true)).toBe(wasmElementwiseModule(true));
      const r = rng(5);
      for (let trial = 0; trial < 40; trial++) {
        const t = fc.sample(poolArb, { numRuns: 1, seed: trial })[0];
        const M = t.g.batch * t.g.outH * t.g.outW;
        const cut = Math.floor(r() * M);
        // Thread 0 computes pixels [0, cut), thread 1 the rest.
        const xBase = 3 + t.xOff;
        const yBase = xBase + t.x.length + 5 + t.yOff;
        const ySize = M * t.g.inC;
        sf32.set(t.x, xBase);
        threads[0].maxpool(t.g, sf32, xBase, sf32, yBase, 0, cut);
        threads[1].maxpool(t.g, sf32, xBase, sf32, yBase, cut, M);
        expect(firstBitDifference(sf32.slice(yBase, yBase + ySize), poolWasm(t, [[0, M]]))).toBe(-1);
        const n = Math.min(ySize, t.x.length); // x[0..n) stays clear of y
        const half = Math.floor(r() * n);
        threads[0].biasAdd(sf32, xBase, sf32, xBase, t.g.inC, sf32, yBase, 0, half, true);
        threads[1].biasAdd(sf32, xBase, sf32, xBase, t.g.inC, sf32, yBase, half, n, true);
        const want = new Float32Array(n);
        biasAddRelu(t.x, 0, t.x, 0, t.g.inC, want, 0, 0, n);
        expect(firstBitDifference(sf32.slice(yBase, yBase + n), want)).toBe(-1);
      }
    });
  });
});

describe.skipIf(!simd)('cpu backend: maxpool / bias_add / relu steps', () => {
  it('wasm and JS paths give the same bits, within core evaluate bounds, with special values', async () => {
    const g = new GraphBuilder('ew');
    const x = g.input('x', [2, 9, 7, 13]);
    const b = g.constant('b', randomTensor([13], 1, 0.5));
    const p1 = g.maxpool(g.relu(g.biasAdd(x, b)), { ksize: [3, 2], strides: [2, 2], padding: 'SAME' });
    const b2 = g.constant('b2', randomTensor([13], 2, 0.5));
    const p2 = g.maxpool(g.biasAdd(p1, b2), { ksize: [2, 2], strides: [1, 2], padding: 'VALID' });
    const gr = g.build({ p1, p2 });
    const data0 = randomTensor([2, 9, 7, 13], 3).data;
    for (let i = 0; i < data0.length; i += 17) data0[i] = SPECIALS[(i / 17) % SPECIALS.length];
    const feeds = { x: data0 };
    const ref = evaluate(gr, feeds);
    const outs: Record<string, Float32Array>[] = [];
    for (const gemm of ['wasm', 'js'] as const) {
      const exe = await new CpuBackend({ gemm }).compile(gr, planExecution(gr));
      outs.push(await exe.run(feeds));
    }
    for (const name of ['p1', 'p2']) {
      expect(firstBitDifference(outs[0][name], outs[1][name])).toBe(-1);
      const { value, bound } = ref[name];
      const got = outs[0][name];
      for (let i = 0; i < value.length; i++) {
        const ok = Number.isNaN(value[i]) ? Number.isNaN(got[i]) : got[i] === value[i] || Math.abs(got[i] - value[i]) <= bound[i];
        if (!ok) throw new Error(`${name}[${i}] = ${got[i]}, expected ${value[i]} ± ${bound[i]}`);
      }
    }
  });
});
