/** conv2d on the wasm GEMM: the 7-loop float64 reference bound, and bit-identical row splits. */
import type { Activation } from '@tessera/core';
import { describe, expect } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { conv2d, conv2dScratchSize, convCall, im2col, type Conv2dGeometry } from '../../src/kernels/conv2d.js';
import { WASM_MR, createWasmArena, packBWasmInto, wasmPackedBSize } from '../../src/kernels/wasm/index.js';
import { activationArb, convReference, firstBitDifference, firstViolation, randomArray, splitRanges } from '../kernels/helpers.js';

interface ConvCase { g: Conv2dGeometry; x: Float32Array; w: Float32Array; bias?: Float32Array; residual?: Float32Array; activation: Activation; pointwise: boolean }

const int = (min: number, max: number) => fc.integer({ min, max });
const convArb = (inC: [number, number], hw: number) => fc.record({
  batch: int(1, 2), inH: int(1, hw), inW: int(1, hw), inC: int(inC[0], inC[1]), kH: int(1, 3), kW: int(1, 3), outC: int(1, 21),
  stride: int(1, 2), dilation: int(1, 2), padTop: int(0, 2), padLeft: int(0, 2), padBottom: int(0, 2), padRight: int(0, 2),
  withBias: fc.boolean(), withResidual: fc.boolean(), activation: activationArb, pointwise: fc.boolean(), seed: fc.integer(),
}).map((p): ConvCase => {
  const pw = p.pointwise;
  const [kH, kW, s, d] = pw ? [1, 1, 1, 1] : [p.kH, p.kW, p.stride, p.dilation];
  const [pt, pl, pb, pr] = pw ? [0, 0, 0, 0] : [p.padTop, p.padLeft, p.padBottom, p.padRight];
  const effH = (kH - 1) * d + 1, effW = (kW - 1) * d + 1;
  const padB = Math.max(pb, effH - p.inH - pt), padR = Math.max(pr, effW - p.inW - pl);
  const g: Conv2dGeometry = {
    batch: p.batch, inH: p.inH, inW: p.inW, inC: p.inC, kH, kW, outC: p.outC,
    outH: Math.floor((p.inH + pt + padB - effH) / s) + 1, outW: Math.floor((p.inW + pl + padR - effW) / s) + 1,
    strideH: s, strideW: s, dilationH: d, dilationW: d, padTop: pt, padLeft: pl,
  };
  return {
    g, activation: p.activation, pointwise: pw,
    x: randomArray(g.batch * g.inH * g.inW * g.inC, p.seed),
    w: randomArray(kH * kW * g.inC * g.outC, p.seed + 1),
    bias: p.withBias ? randomArray(g.outC, p.seed + 2) : undefined,
    // Up to 8 in magnitude (a power-of-two scale: exact), so relu6 clamps.
    residual: p.withResidual ? randomArray(g.batch * g.outH * g.outW * g.outC, p.seed + 3).map((v) => v * 8) : undefined,
  };
});

function run(t: ConvCase, ranges: Array<[number, number]>): Float32Array {
  const g = t.g;
  const K = g.kH * g.kW * g.inC;
  const M = g.batch * g.outH * g.outW;
  const scratchSize = Math.max(0, ...ranges.map(([r0, r1]) => conv2dScratchSize(g, r0, r1, WASM_MR)));
  const w = createWasmArena([t.x.length, wasmPackedBSize(K, g.outC), M * g.outC, g.outC, scratchSize, M * g.outC])!;
  const [X, W, Y, B, S, R] = w.regions;
  X.set(t.x);
  if (t.bias) B.set(t.bias);
  if (t.residual) R.set(t.residual);
  packBWasmInto(W, 0, K, g.outC, t.w, 0, g.outC, false);
  const call = Object.assign(convCall(), { g, x: X, w: W, y: Y, bias: t.bias ? B : null, residual: t.residual ? R : null, activation: t.activation, scratch: S });
  for (const [r0, r1] of ranges) conv2d(w.gemm, Object.assign(call, { rowStart: r0, rowEnd: r1 }));
  return Y.slice();
}

describe('conv2d on the wasm gemm', () => {
  test.prop([convArb([1, 7], 9)], { numRuns: 150 })('small convolutions are within the bound', (t) => {
    const { ref, absSum } = convReference(t.g, t.x, 0, t.w, t.bias, t.activation, t.residual);
    expect(firstViolation(run(t, [[0, t.g.batch * t.g.outH * t.g.outW]]), ref, absSum, t.g.kH * t.g.kW * t.g.inC)).toBeUndefined();
  });

  test.prop([convArb([40, 90], 14)], { numRuns: 25 })('deep convolutions (several im2col chunks, k-blocks) are within the bound', (t) => {
    const { ref, absSum } = convReference(t.g, t.x, 0, t.w, t.bias, t.activation, t.residual);
    expect(firstViolation(run(t, [[0, t.g.batch * t.g.outH * t.g.outW]]), ref, absSum, t.g.kH * t.g.kW * t.g.inC)).toBeUndefined();
  });

  test.prop([convArb([1, 9], 12)], { numRuns: 100 })('the wasm im2col writes the rows the TypeScript im2col writes (windows inside the input copied row by row, others tap by tap)', (t) => {
    const g = t.g;
    const M = g.batch * g.outH * g.outW;
    const K = g.kH * g.kW * g.inC;
    const w = createWasmArena([t.x.length, M * K])!;
    const [X, D] = w.regions;
    X.set(t.x);
    D.fill(NaN);
    w.gemm.im2col(g, X, 0, D, 0, 0, M);
    const expected = new Float32Array(M * K);
    im2col(g, t.x, 0, expected, 0, 0, M);
    expect(firstBitDifference(D, expected)).toBe(-1);
  });

  test.prop([convArb([1, 70], 12), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 3 })], { numRuns: 60 })(
    'disjoint row ranges are bit-identical to one full-range call',
    (t, cuts) => {
      const M = t.g.batch * t.g.outH * t.g.outW;
      expect(firstBitDifference(run(t, [[0, M]]), run(t, splitRanges(M, cuts).reverse()))).toBe(-1);
    },
  );
});
