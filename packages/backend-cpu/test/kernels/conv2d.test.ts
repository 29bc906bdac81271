import { describe, expect } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { conv2d, conv2dScratchSize, convCall, type Conv2dGeometry } from '../../src/kernels/conv2d.js';
import { GEMM_MR, jsGemm, packB } from '../../src/kernels/gemm.js';
import { type GemmEpilogue, activationArb, convReference, firstBitDifference, firstViolation, randomArray, splitRanges } from './helpers.js';

interface ConvCase {
  g: Conv2dGeometry;
  x: Float32Array; xOff: number;
  w: Float32Array; // HWIO, unpacked
  yOff: number;
  epilogue: GemmEpilogue;
}

const SENTINEL = -777.25;

interface Bounds {
  batch: number; hw: number; inC: [number, number]; k: number; outC: number; stride: number; dilation: number; pad: number;
}

function convArb(b: Bounds) {
  const int = (min: number, max: number) => fc.integer({ min, max });
  return fc.record({
    batch: int(1, b.batch), inH: int(1, b.hw), inW: int(1, b.hw), inC: int(b.inC[0], b.inC[1]),
    kH: int(1, b.k), kW: int(1, b.k), outC: int(1, b.outC),
    strideH: int(1, b.stride), strideW: int(1, b.stride),
    dilationH: int(1, b.dilation), dilationW: int(1, b.dilation),
    padTop: int(0, b.pad), padLeft: int(0, b.pad), padBottom: int(0, b.pad), padRight: int(0, b.pad),
    xOff: int(0, 4), yOff: int(0, 4), withBias: fc.boolean(), withResidual: fc.boolean(), activation: activationArb, seed: fc.integer(),
  }).map((p): ConvCase => {
    const effH = (p.kH - 1) * p.dilationH + 1;
    const effW = (p.kW - 1) * p.dilationW + 1;
    // Grow the implicit bottom/right padding so at least one output exists.
    const padBottom = Math.max(p.padBottom, effH - p.inH - p.padTop);
    const padRight = Math.max(p.padRight, effW - p.inW - p.padLeft);
    const g: Conv2dGeometry = {
      batch: p.batch, inH: p.inH, inW: p.inW, inC: p.inC, kH: p.kH, kW: p.kW, outC: p.outC,
      outH: Math.floor((p.inH + p.padTop + padBottom - effH) / p.strideH) + 1,
      outW: Math.floor((p.inW + p.padLeft + padRight - effW) / p.strideW) + 1,
      strideH: p.strideH, strideW: p.strideW, dilationH: p.dilationH, dilationW: p.dilationW,
      padTop: p.padTop, padLeft: p.padLeft,
    };
    const x = randomArray(p.xOff + g.batch * g.inH * g.inW * g.inC, p.seed);
    const w = randomArray(g.kH * g.kW * g.inC * g.outC, p.seed + 1);
    const epilogue: GemmEpilogue = { activation: p.activation };
    if (p.withBias) epilogue.bias = randomArray(g.outC, p.seed + 2);
    // An output-shaped residual up to 8 in magnitude (so relu6 clamps), at offset 0.
    if (p.withResidual) epilogue.residual = randomArray(g.batch * g.outH * g.outW * g.outC, p.seed + 3).map((v) => v * 8);
    return { g, x, xOff: p.xOff, w, yOff: p.yOff, epilogue };
  });
}

const small = convArb({ batch: 2, hw: 9, inC: [1, 7], k: 4, outC: 13, stride: 3, dilation: 3, pad: 3 });
// K = kH*kW*inC large enough that the im2col is split into several chunks.
const deep = convArb({ batch: 2, hw: 12, inC: [40, 80], k: 3, outC: 7, stride: 2, dilation: 2, pad: 2 });
const pointwise = small.map((t) => {
  const g = { ...t.g, kH: 1, kW: 1, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, outH: t.g.inH, outW: t.g.inW };
  const residual = t.epilogue.residual && randomArray(g.batch * g.outH * g.outW * g.outC, t.epilogue.residual.length).map((v) => v * 8);
  return { ...t, g, w: t.w.subarray(0, g.inC * g.outC), epilogue: { ...t.epilogue, residual } };
});

/**
 * Runs conv2d over the given row ranges; each range gets its own scratch slot
 * surrounded by sentinels, which must survive (scratch size is respected).
 */
function run(t: ConvCase, ranges: Array<[number, number]>): Float32Array {
  const g = t.g;
  const K = g.kH * g.kW * g.inC;
  const pw = packB(K, g.outC, t.w, 0, g.outC, false);
  const y = new Float32Array(t.yOff + g.batch * g.outH * g.outW * g.outC + 3).fill(SENTINEL);
  for (const [r0, r1] of ranges) {
    const size = conv2dScratchSize(g, r0, r1, GEMM_MR);
    const scratchOff = 5;
    const scratch = new Float32Array(scratchOff + size + 5).fill(SENTINEL);
    conv2d(jsGemm, Object.assign(convCall(), {
      g, x: t.x, xOff: t.xOff, w: pw, y, yOff: t.yOff, bias: t.epilogue.bias ?? null,
      residual: t.epilogue.residual ?? null, residualOff: 0, activation: t.epilogue.activation ?? 'none',
      scratch, scratchOff, rowStart: r0, rowEnd: r1,
    }));
    for (let i = 0; i < scratchOff; i++) expect(scratch[i]).toBe(SENTINEL);
    for (let i = scratchOff + size; i < scratch.length; i++) expect(scratch[i]).toBe(SENTINEL);
  }
  for (let i = 0; i < t.yOff; i++) expect(y[i]).toBe(SENTINEL);
  for (let i = y.length - 3; i < y.length; i++) expect(y[i]).toBe(SENTINEL);
  return y;
}

function checkAgainstReference(t: ConvCase): void {
  const y = run(t, [[0, t.g.batch * t.g.outH * t.g.outW]]);
  const { ref, absSum } = convReference(t.g, t.x, t.xOff, t.w, t.epilogue.bias, t.epilogue.activation ?? 'none', t.epilogue.residual);
  const K = t.g.kH * t.g.kW * t.g.inC;
  expect(firstViolation(y.subarray(t.yOff, t.yOff + ref.length), ref, absSum, K)).toBeUndefined();
}

describe('conv2d', () => {
  test.prop([small], { numRuns: 300 })(
    'conv2d (strides, dilations, asymmetric padding, offsets) equals the 7-loop float64 conv within the bound',
    checkAgainstReference,
  );

  test.prop([deep], { numRuns: 40 })(
    'conv2d with im2col split into several chunks equals the 7-loop float64 conv within the bound',
    checkAgainstReference,
  );

  test.prop([pointwise], { numRuns: 100 })(
    'pointwise conv2d (1x1, stride 1, no padding) equals the reference and needs no scratch',
    (t) => {
      expect(conv2dScratchSize(t.g, 0, t.g.batch * t.g.inH * t.g.inW, GEMM_MR)).toBe(0);
      checkAgainstReference(t);
    },
  );

  test.prop([fc.oneof(small, deep, pointwise), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 2 })], { numRuns: 150 })(
    'conv2d over disjoint row ranges is bit-identical to one full-range call',
    (t, cuts) => {
      const M = t.g.batch * t.g.outH * t.g.outW;
      const full = run(t, [[0, M]]);
      const split = run(t, splitRanges(M, cuts).reverse());
      expect(firstBitDifference(full, split)).toBe(-1);
    },
  );

  test('conv2d scratch is bounded by the chunk size, not by the row range', () => {
    const g: Conv2dGeometry = {
      batch: 1, inH: 56, inW: 56, inC: 64, kH: 3, kW: 3, outC: 64, outH: 56, outW: 56,
      strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 1, padLeft: 1,
    };
    const K = 3 * 3 * 64;
    expect(conv2dScratchSize(g, 0, 56 * 56, GEMM_MR)).toBeLessThanOrEqual(256 * K);
    expect(conv2dScratchSize(g, 10, 11, GEMM_MR)).toBe(K);
    expect(conv2dScratchSize(g, 7, 7, GEMM_MR)).toBe(0);
  });

  test('conv2d throws when the scratch is too small', () => {
    const g: Conv2dGeometry = {
      batch: 1, inH: 4, inW: 4, inC: 1, kH: 3, kW: 3, outC: 1, outH: 4, outW: 4,
      strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 1, padLeft: 1,
    };
    const pw = packB(9, 1, new Float32Array(9), 0, 1, false);
    const call = Object.assign(convCall(), { g, x: new Float32Array(16), w: pw, y: new Float32Array(16), scratch: new Float32Array(3), rowEnd: 16 });
    expect(() => conv2d(jsGemm, call)).toThrow(RangeError);
  });
});
