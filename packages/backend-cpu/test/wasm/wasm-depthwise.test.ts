/**
 * The wasm SIMD depthwise kernel (kernels/wasm/depthwise.ts): the same bits as the TypeScript
 * kernel (NaN payloads aside) for every geometry (3x3 interiors and any window, channels 1..40,
 * dilations, paddings), every epilogue, special values, unaligned offsets and split ranges; and
 * it writes nothing outside its output range.
 */
import { describe, expect } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import type { Activation, ConvGeometry } from '@tessera/core';
import { depthwise, jsDepthwise, type DepthwiseCall } from '../../src/kernels/depthwise.js';
import { createWasmArena } from '../../src/kernels/wasm/arena.js';
import { wasmDepthwiseFor } from '../../src/kernels/wasm/depthwise.js';
import { wasmSimdSupported } from '../../src/kernels/wasm/module.js';
import { firstBitDifference, rng, SENTINEL, splitRanges } from '../kernels/helpers.js';

const int = (min: number, max: number) => fc.integer({ min, max });
const SPECIALS = [NaN, -0, 0, Infinity, -Infinity];

function data(n: number, seed: number, specialRate: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => {
    const u = r();
    if (u < specialRate) return SPECIALS[Math.floor(r() * SPECIALS.length)];
    return u < specialRate + 0.2 ? Math.round(r() * 4 - 2) * 0.5 : r() * 8 - 4;
  });
}

/** Output extent of one axis (pads given, window `k` dilated by `d`), at least 1. */
const outSize = (size: number, k: number, s: number, d: number, before: number, after: number) =>
  Math.max(1, Math.floor((size + before + after - (k - 1) * d - 1) / s) + 1);

const caseArb = fc
  .record({
    batch: int(1, 2), inH: int(1, 9), inW: int(1, 9), C: int(1, 40),
    k: fc.oneof(fc.constant<[number, number]>([3, 3]), fc.tuple(int(1, 4), int(1, 4))),
    s: fc.tuple(int(1, 3), int(1, 3)), d: fc.tuple(int(1, 2), int(1, 2)), pads: fc.tuple(int(0, 2), int(0, 2), int(0, 2), int(0, 2)),
    activation: fc.constantFrom<Activation>('none', 'relu', 'relu6'), bias: fc.boolean(),
    special: fc.constantFrom(0, 0, 0.05), seed: fc.integer(), offs: fc.tuple(int(0, 5), int(0, 5), int(0, 5)),
    cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }),
  })
  .map((p) => {
    const [kH, kW] = p.k;
    const [pt, pb, pl, pr] = p.pads;
    const g: ConvGeometry = {
      batch: p.batch, inH: p.inH, inW: p.inW, inC: p.C, outC: p.C, kH, kW,
      outH: outSize(p.inH, kH, p.s[0], p.d[0], pt, pb), outW: outSize(p.inW, kW, p.s[1], p.d[1], pl, pr),
      strideH: p.s[0], strideW: p.s[1], dilationH: p.d[0], dilationW: p.d[1], padTop: pt, padBottom: pb, padLeft: pl, padRight: pr,
    };
    return { ...p, g };
  });

describe.runIf(wasmSimdSupported())('wasm depthwise', () => {
  test.prop([caseArb], { numRuns: 300 })(
    'wasm depthwise (multiplier 1) gives the TypeScript kernel\'s bits for any geometry, epilogue, special values, offsets and split, and writes only its range',
    (p) => {
      const { g } = p;
      const sizes = { x: g.batch * g.inH * g.inW * g.inC, w: g.kH * g.kW * g.outC, y: g.batch * g.outH * g.outW * g.outC };
      const arena = createWasmArena([sizes.x + 8, sizes.w + 8, g.outC + 8, sizes.y + 8])!;
      const [x, w, b, y] = arena.regions;
      const [xOff, wOff, yOff] = p.offs;
      x.set(data(sizes.x, p.seed, p.special), xOff);
      w.set(data(sizes.w, p.seed + 1, p.special), wOff);
      b.set(data(g.outC, p.seed + 2, p.special), 1);
      y.fill(SENTINEL);
      const call: DepthwiseCall = {
        g, multiplier: 1, x, xOff, w, wOff, bias: p.bias ? b : null, biasOff: 1, y, yOff, activation: p.activation,
      };
      const mem = { arena: x, weights: w, gemm: arena.gemm };
      expect(wasmDepthwiseFor(mem, call)).not.toBeNull();
      const pixels = g.batch * g.outH * g.outW;
      for (const [start, end] of splitRanges(pixels, p.cuts)) depthwise(mem, call, start, end);
      const expected = new Float32Array(y.length).fill(SENTINEL);
      jsDepthwise({ ...call, y: expected }, 0, pixels);
      expect(firstBitDifference(y, expected)).toBe(-1);
    },
  );
});
