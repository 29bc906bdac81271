import { numel, prng, type Activation, type Padding } from '@tessera/core';
import fc from 'fast-check';
import { CASE_MACS, convParamsArb, dim, holderArb, opData, repairConv } from './arbitraries.js';
import { CaseBuilder, type ConformanceCase } from './case.js';
import { dataSpecArbitrary, fillData } from './data.js';
import { fitBudget, sizeArb } from './sizes.js';

/*
 * Cases of the CNN ops beside conv2d and maxpool: avg_pool, mean, softmax, batch_norm,
 * depthwise_conv2d and fused_depthwise_conv2d. The arbitraries are built inside the functions
 * (arbitraries.ts imports these declarations, and this module its helpers). Channel and reduced sizes come from the size
 * classes (block edges and one past), the work of a case stays under CASE_MACS.
 */

/** A rank-1..4 shape whose last dimension is from the size classes (up to `maxLast`), at most `budget` elements. */
function channelLastShapeArb(maxLast: number, budget: number): fc.Arbitrary<number[]> {
  return fc.tuple(fc.array(dim(12), { minLength: 0, maxLength: 3 }), sizeArb(maxLast)).map(([dims, last]) => {
    const shape = [...dims, last];
    const fit = fitBudget(Object.fromEntries(shape.map((d, i) => [String(i), d])), String(shape.length - 1), budget);
    return shape.map((_, i) => fit[String(i)]);
  });
}

// ---------------------------------------------------------------------------------------------
// avg_pool

export function avgPoolCase(): fc.Arbitrary<ConformanceCase> {
  return fc
    .record({
      batch: dim(3),
      h: dim(12),
      w: dim(12),
      c: sizeArb(600),
      kh: dim(5),
      kw: dim(5),
      sh: dim(4),
      sw: dim(4),
      padding: fc.constantFrom('SAME', 'SAME', 'VALID', 'EXPLICIT'),
      pads: fc.tuple(fc.nat(4), fc.nat(4), fc.nat(4), fc.nat(4)),
      x: opData(2),
    })
    .map((raw) => {
      const p = { ...raw, ...fitBudget({ batch: raw.batch, h: raw.h, w: raw.w, c: raw.c }, 'c', Math.floor(CASE_MACS / (raw.kh * raw.kw))) };
      // Explicit pads smaller than the window on each side; VALID and explicit inputs at least the (padded) window.
      const [pt, pb, pl, pr] = [p.pads[0] % p.kh, p.pads[1] % p.kh, p.pads[2] % p.kw, p.pads[3] % p.kw];
      const padding: Padding = p.padding === 'SAME' ? 'SAME' : p.padding === 'VALID' ? 'VALID' : [[pt, pb], [pl, pr]];
      const h = padding === 'SAME' ? p.h : Math.max(p.h, p.kh - (padding === 'VALID' ? 0 : pt + pb));
      const w = padding === 'SAME' ? p.w : Math.max(p.w, p.kw - (padding === 'VALID' ? 0 : pl + pr));
      const c = new CaseBuilder('avg_pool_case');
      const x = c.input('x', [p.batch, h, w, p.c], p.x);
      return c.build({ y: c.b.avgPool(x, { ksize: [p.kh, p.kw], strides: [p.sh, p.sw], padding }) });
    });
}

// ---------------------------------------------------------------------------------------------
// mean

export function meanCase(): fc.Arbitrary<ConformanceCase> {
  return fc
    .record({
      // Global average pooling (NHWC over [1, 2]) a third of the time.
      global: fc.constantFrom(false, false, true),
      shape: channelLastShapeArb(1100, CASE_MACS / 8),
      reduced: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      negative: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
      keepdims: fc.boolean(),
      x: opData(),
    })
    .map((p) => {
      let shape = p.shape;
      let axes: number[];
      if (p.global) {
        // A small channel count, H * W the reduced run (it crosses block edges when the last dimension was large).
        const [a, b] = [shape[0], shape[shape.length - 1]];
        shape = [1 + (a % 2), Math.min(b, 40), Math.max(1, Math.floor(b / 40)), 1 + (a % 7)];
        axes = [1, 2];
      } else {
        axes = shape.map((_, i) => i).filter((i) => p.reduced[i]);
        if (axes.length === 0) axes = [shape.length - 1];
        axes = axes.map((a) => (p.negative[a] ? a - shape.length : a));
      }
      const keepdims = p.keepdims || axes.length === shape.length;
      const c = new CaseBuilder('mean_case');
      const x = c.input('x', shape, p.x);
      return c.build({ y: c.b.mean(x, { axes, keepdims }) });
    });
}

// ---------------------------------------------------------------------------------------------
// softmax

export function softmaxCase(): fc.Arbitrary<ConformanceCase> {
  return fc
    .record({
      shape: channelLastShapeArb(1100, CASE_MACS / 8),
      x: dataSpecArbitrary({ maxExp: 4, intsWeight: 1 }),
      // Logits far from 0: exp(x) of the shifted ones overflows (or underflows) float32 unless the row maximum is subtracted.
      shift: fc.constantFrom(0, 0, 0, 89, -104, 1e3, -1e4, 3e4),
      // A few rows with one huge logit (all the mass on it) or spread beyond exp's range.
      large: fc.constantFrom(0, 0, 0, 200, 1e6, 1e20),
    })
    .map((p) => {
      const c = new CaseBuilder('softmax_case');
      const n = numel(p.shape);
      const data = fillData(n, p.x);
      const next = prng(p.x.seed ^ 0x5f3759df);
      for (let i = 0; i < n; i++) data[i] = data[i] + p.shift + (p.large && next() < 0.1 ? (next() < 0.5 ? -1 : 1) * p.large : 0);
      return c.build({ y: c.b.softmax(c.operandData('logits', p.shape, data, 'input')) });
    });
}

// ---------------------------------------------------------------------------------------------
// batch_norm

/** Variances near zero, which epsilon keeps the reciprocal root of finite (0 and a subnormal among them). */
export const NEAR_ZERO_VARIANCES = [0, 1e-40, 1e-30, 1e-12, 1e-7, 1e-4];

export function batchNormCase(): fc.Arbitrary<ConformanceCase> {
  // Data up to 1e10: (x - mean) * scale / sqrt(epsilon) stays far below float32's range.
  const bnData = () => dataSpecArbitrary({ maxExp: 10 });
  return fc
    .record({
      shape: channelLastShapeArb(1100, CASE_MACS / 8),
      x: bnData(),
      mean: bnData(),
      variance: dataSpecArbitrary({ maxExp: 6 }),
      nearZero: fc.constantFrom(0, 0.25, 0.5, 1),
      offset: bnData(),
      scale: bnData(),
      holders: fc.array(holderArb, { minLength: 4, maxLength: 4 }),
      epsilon: fc.constantFrom(undefined, 1e-3, 1e-5, 1e-6, 0.1, 1),
    })
    .map((p) => {
      const channels = p.shape[p.shape.length - 1];
      const c = new CaseBuilder('batch_norm_case');
      const x = c.input('x', p.shape, p.x);
      const mean = c.operand('mean', [channels], p.mean, p.holders[0]);
      const next = prng(p.variance.seed ^ 0x2545f491);
      const variance = fillData(channels, p.variance).map((v) =>
        next() < p.nearZero ? NEAR_ZERO_VARIANCES[Math.floor(next() * NEAR_ZERO_VARIANCES.length)] : Math.abs(v),
      );
      const v = c.operandData('variance', [channels], variance, p.holders[1]);
      const offset = c.operand('offset', [channels], p.offset, p.holders[2]);
      const scale = c.operand('scale', [channels], p.scale, p.holders[3]);
      return c.build({ y: c.b.batchNorm(x, mean, v, offset, scale, p.epsilon === undefined ? {} : { epsilon: p.epsilon }) });
    });
}

// ---------------------------------------------------------------------------------------------
// depthwise_conv2d

export function depthwiseConv2dCase(): fc.Arbitrary<ConformanceCase> {
  return depthwiseCase('depthwise_conv2d');
}

// ---------------------------------------------------------------------------------------------
// fused_depthwise_conv2d: depthwise_conv2d's geometry, a bias and every activation.

export function fusedDepthwiseConv2dCase(): fc.Arbitrary<ConformanceCase> {
  return depthwiseCase('fused_depthwise_conv2d');
}

function depthwiseCase(op: 'depthwise_conv2d' | 'fused_depthwise_conv2d'): fc.Arbitrary<ConformanceCase> {
  // depthwise_conv2d draws no activation, so its cases stay those of a given seed.
  const activation = op === 'depthwise_conv2d' ? fc.constant<Activation>('none') : fc.constantFrom<Activation>('none', 'relu', 'relu6');
  return fc.record({ conv: convParamsArb, multiplier: fc.constantFrom(1, 1, 1, 2, 3), activation }).map(({ conv, multiplier, activation }) => {
    // Many channels (the conv's cin) or a large image: K = KH * KW is small, so the work is the output's size times K.
    const keep = conv.focus === 'm' ? 'h' : 'cin';
    const budget = Math.max(1, Math.floor(CASE_MACS / (conv.kh * conv.kw * multiplier)));
    const fit = fitBudget({ batch: conv.batch, h: conv.h, w: conv.w, cin: conv.cin }, keep, budget);
    const p = repairConv({ ...conv, ...fit });
    const c = new CaseBuilder(`${op}_case`);
    const x = c.input('x', [p.batch, p.h, p.w, p.cin], p.x);
    const f = c.operand('filter', [p.kh, p.kw, p.cin, multiplier], p.w_, p.filterHolder);
    const attrs = { strides: [p.sh, p.sw] as [number, number], dilations: [p.dh, p.dw] as [number, number], padding: p.paddingAttr };
    if (op === 'depthwise_conv2d') return c.build({ y: c.b.depthwiseConv2d(x, f, attrs) });
    const bias = c.operand('bias', [p.cin * multiplier], p.bias, p.biasHolder);
    return c.build({ y: c.b.op('fused_depthwise_conv2d', [x, f, bias], { ...attrs, activation }) });
  });
}
