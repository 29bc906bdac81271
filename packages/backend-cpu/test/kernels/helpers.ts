import { fc } from '@fast-check/vitest';
import { prng, type Activation } from '@tessera/core';
import { jsElementwise } from '../../src/kernels/elementwise.js';
import type { Conv2dGeometry } from '../../src/kernels/conv2d.js';
import { gemmCall, type GemmCall } from '../../src/kernels/gemm-call.js';
/**
 * Test helpers shared by the JS and wasm kernel tests: a seeded PRNG for bulk data, a
 * tolerance check, a row-range splitter, GEMM cases and the float64 / float32 references
 * (GEMM, conv, max pooling). Independent of the code under test.
 */

type BiasAddArgs = [Float32Array, number, Float32Array, number, number, Float32Array, number, number, number];
/** The JS bias_add kernel (x, xOff, bias, biasOff, channels, y, yOff, start, end), without and with its relu. */
export const biasAdd = (...a: BiasAddArgs): void => jsElementwise.biasAdd(...a, false);
export const biasAddRelu = (...a: BiasAddArgs): void => jsElementwise.biasAdd(...a, true);

/** A seeded PRNG for bulk data: core's (the kernels under test do not use it). */
export const rng = prng;

/** Float32Array of n values uniform in [-1, 1) (exactly representable). */
export function randomArray(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r() * 2 - 1;
  return a;
}

/**
 * Checks |got - ref| <= 2*(K+2)*2^-24*absSum + 1e-30 element-wise; returns a
 * description of the first violation or undefined.
 */
export function firstViolation(
  got: ArrayLike<number>, ref: ArrayLike<number>, absSum: ArrayLike<number>, K: number,
): string | undefined {
  for (let i = 0; i < ref.length; i++) {
    const tol = 2 * (K + 2) * 2 ** -24 * absSum[i] + 1e-30;
    const g = got[i];
    const r = ref[i];
    if (Number.isNaN(r) ? !Number.isNaN(g) : !(Math.abs(g - r) <= tol)) {
      return `element ${i}: got ${g}, expected ${r} (tol ${tol})`;
    }
  }
  return undefined;
}

/**
 * Splits [0, M) at the given cut fractions (each in [0, 1]) into disjoint
 * ranges covering it, possibly empty.
 */
export function splitRanges(M: number, cuts: number[]): Array<[number, number]> {
  const points = cuts.map((c) => Math.floor(c * M)).sort((a, b) => a - b);
  const ranges: Array<[number, number]> = [];
  let prev = 0;
  for (const p of [...points, M]) {
    ranges.push([prev, p]);
    prev = p;
  }
  return ranges;
}

/** Index of the first element whose bit pattern differs (all NaNs alike), or -1. */
export function firstBitDifference(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (ua.length !== ub.length) return 0;
  for (let i = 0; i < ua.length; i++) {
    // Any NaN equals any NaN: payload and sign of NaN are not specified.
    if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  }
  return -1;
}

/** Fill value of C outside the M x N block: a kernel must never write there. */
export const SENTINEL = 1234.5;

/** Where a GEMM case's result block sits in C. */
export interface CBlock {
  readonly M: number;
  readonly N: number;
  readonly cOff: number;
  readonly ldc: number;
}

/** The M x N result block out of C (drops offset and ldc padding). */
export function extract(t: CBlock, c: Float32Array): Float32Array {
  const out = new Float32Array(t.M * t.N);
  for (let i = 0; i < t.M; i++) for (let n = 0; n < t.N; n++) out[i * t.N + n] = c[t.cOff + i * t.ldc + n];
  return out;
}

/** True when every C element outside the M x N block still holds the sentinel. */
export function paddingUntouched(t: CBlock, c: Float32Array): boolean {
  for (let idx = 0; idx < c.length; idx++) {
    const rel = idx - t.cOff;
    const inside = rel >= 0 && rel % t.ldc < t.N && Math.floor(rel / t.ldc) < t.M;
    if (!inside && c[idx] !== SENTINEL) return false;
  }
  return true;
}

/** Drawn window parameters: sizes, strides, dilations and wished-for pads (pt, pl, pb, pr). */
export interface WindowDraw {
  batch: number; inH: number; inW: number; C: number; kH: number; kW: number;
  strideH: number; strideW: number; dilationH: number; dilationW: number;
  pt: number; pl: number; pb: number; pr: number;
}

/**
 * A pooling geometry (outC = inC) from drawn parameters, with padding smaller than the window so
 * every window sees at least one input cell (as SAME and VALID guarantee).
 */
export function poolGeometryOf(p: WindowDraw): Conv2dGeometry {
  const effH = (p.kH - 1) * p.dilationH + 1;
  const effW = (p.kW - 1) * p.dilationW + 1;
  const padTop = Math.min(p.pt, effH - 1);
  const padLeft = Math.min(p.pl, effW - 1);
  const padBottom = Math.max(Math.min(p.pb, effH - 1), effH - p.inH - padTop);
  const padRight = Math.max(Math.min(p.pr, effW - 1), effW - p.inW - padLeft);
  return {
    batch: p.batch, inH: p.inH, inW: p.inW, inC: p.C, kH: p.kH, kW: p.kW, outC: p.C,
    outH: Math.floor((p.inH + padTop + padBottom - effH) / p.strideH) + 1,
    outW: Math.floor((p.inW + padLeft + padRight - effW) / p.strideW) + 1,
    strideH: p.strideH, strideW: p.strideW, dilationH: p.dilationH, dilationW: p.dilationW, padTop, padLeft,
  };
}

/** A bias (from biasOff), a residual (indexed like C) and an activation after the product. */
export interface GemmEpilogue {
  bias?: Float32Array;
  biasOff?: number;
  residual?: Float32Array;
  activation?: Activation;
}

/** The activations of the fused epilogue, for fast-check. */
export const activationArb = fc.constantFrom<Activation>('none', 'relu', 'relu6');

/** An activation in float64: NaN kept, relu6 clamps at 6. */
export function activate(s: number, activation: Activation | undefined): number {
  if (activation === undefined || activation === 'none' || Number.isNaN(s)) return s;
  return s <= 0 ? 0 : activation === 'relu6' && s > 6 ? 6 : s;
}

/** A GemmCall with the given fields (the rest empty). */
export function callOf(fields: Partial<GemmCall>): GemmCall {
  return Object.assign(gemmCall(), fields);
}

/**
 * The call of case t over a (at t.aOff), packed B at b[bOff], c (at t.cOff) and bias (null: the
 * case's epilogue has none), for rows [r0, r1).
 */
export function caseCall(
  t: GemmCase, a: Float32Array, b: Float32Array, bOff: number, c: Float32Array, bias: Float32Array | null, r0: number, r1: number,
): GemmCall {
  return callOf({
    M: t.M, N: t.N, K: t.K, a, aOff: t.aOff, lda: t.lda, transA: t.transA, b, bOff, c, cOff: t.cOff, ldc: t.ldc,
    bias: t.epilogue.bias ? bias : null, biasOff: t.epilogue.biasOff ?? 0, activation: t.epilogue.activation ?? 'none',
    residual: t.epilogue.residual ?? null, residualOff: t.cOff, rowStart: r0, rowEnd: r1,
  });
}

/** A GEMM case: op(A) M x K, op(B) K x N at offsets with padded leading dimensions, C (SENTINEL around the block), an epilogue. */
export interface GemmCase {
  M: number; N: number; K: number;
  transA: boolean; transB: boolean;
  aOff: number; bOff: number; cOff: number;
  lda: number; ldb: number; ldc: number;
  a: Float32Array; b: Float32Array; c: Float32Array;
  epilogue: GemmEpilogue;
}

/** GEMM cases with M, N, K in the given ranges, transposes, offsets, padding, optional bias and relu. */
export function gemmCaseArb(mRange: [number, number], nRange: [number, number], kRange: [number, number]): fc.Arbitrary<GemmCase> {
  return fc.record({
    M: fc.integer({ min: mRange[0], max: mRange[1] }),
    N: fc.integer({ min: nRange[0], max: nRange[1] }),
    K: fc.integer({ min: kRange[0], max: kRange[1] }),
    transA: fc.boolean(),
    transB: fc.boolean(),
    aOff: fc.integer({ min: 0, max: 5 }),
    bOff: fc.integer({ min: 0, max: 5 }),
    cOff: fc.integer({ min: 0, max: 5 }),
    padA: fc.integer({ min: 0, max: 3 }),
    padB: fc.integer({ min: 0, max: 3 }),
    padC: fc.integer({ min: 0, max: 3 }),
    withBias: fc.boolean(),
    withResidual: fc.boolean(),
    activation: activationArb,
    biasOff: fc.integer({ min: 0, max: 3 }),
    seed: fc.integer(),
  }).map((p): GemmCase => {
    const { M, N, K } = p;
    const lda = (p.transA ? M : K) + p.padA;
    const ldb = (p.transB ? K : N) + p.padB;
    const ldc = N + p.padC;
    const a = randomArray(p.aOff + lda * (p.transA ? K : M), p.seed);
    const b = randomArray(p.bOff + ldb * (p.transB ? N : K), p.seed + 1);
    const c = new Float32Array(p.cOff + ldc * M).fill(SENTINEL);
    const epilogue: GemmEpilogue = { activation: p.activation };
    // Residuals up to 8 in magnitude (exact: a power-of-two scale), so relu6 clamps often.
    if (p.withResidual) epilogue.residual = randomArray(c.length, p.seed + 3).map((v) => v * 8);
    if (p.withBias) {
      epilogue.bias = randomArray(p.biasOff + N, p.seed + 2);
      epilogue.biasOff = p.biasOff;
    }
    return { M, N, K, transA: p.transA, transB: p.transB, aOff: p.aOff, bOff: p.bOff, cOff: p.cOff, lda, ldb, ldc, a, b, c, epilogue };
  });
}

/** Naive float64 triple loop: reference values and sum|a_k*b_k| (+|bias|) per element. */
export function gemmReference(t: GemmCase): { ref: Float64Array; absSum: Float64Array } {
  const { M, N, K } = t;
  const ref = new Float64Array(M * N);
  const absSum = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      let abs = 0;
      for (let k = 0; k < K; k++) {
        const av = t.transA ? t.a[t.aOff + k * t.lda + i] : t.a[t.aOff + i * t.lda + k];
        const bv = t.transB ? t.b[t.bOff + n * t.ldb + k] : t.b[t.bOff + k * t.ldb + n];
        s += av * bv;
        abs += Math.abs(av * bv);
      }
      if (t.epilogue.bias) {
        const bias = t.epilogue.bias[(t.epilogue.biasOff ?? 0) + n];
        s += bias;
        abs += Math.abs(bias);
      }
      const r = t.epilogue.residual?.[t.cOff + i * t.ldc + n];
      if (r !== undefined) {
        s += r;
        abs += Math.abs(r);
      }
      ref[i * N + n] = activate(s, t.epilogue.activation);
      absSum[i * N + n] = abs;
    }
  }
  return { ref, absSum };
}

/** Naive 7-loop convolution in float64 (x NHWC at xOff, w HWIO), plus sum of |x*w| (+|bias|) per output. */
export function convReference(
  g: Conv2dGeometry, x: Float32Array, xOff: number, w: Float32Array, bias: Float32Array | undefined, activation: Activation,
  residual?: Float32Array,
): { ref: Float64Array; absSum: Float64Array } {
  const ref = new Float64Array(g.batch * g.outH * g.outW * g.outC);
  const absSum = new Float64Array(ref.length);
  for (let n = 0; n < g.batch; n++)
    for (let oh = 0; oh < g.outH; oh++)
      for (let ow = 0; ow < g.outW; ow++)
        for (let oc = 0; oc < g.outC; oc++) {
          let s = 0;
          let abs = 0;
          for (let kh = 0; kh < g.kH; kh++)
            for (let kw = 0; kw < g.kW; kw++)
              for (let ic = 0; ic < g.inC; ic++) {
                const ih = oh * g.strideH - g.padTop + kh * g.dilationH;
                const iw = ow * g.strideW - g.padLeft + kw * g.dilationW;
                if (ih < 0 || ih >= g.inH || iw < 0 || iw >= g.inW) continue;
                const v = x[xOff + ((n * g.inH + ih) * g.inW + iw) * g.inC + ic] * w[((kh * g.kW + kw) * g.inC + ic) * g.outC + oc];
                s += v;
                abs += Math.abs(v);
              }
          if (bias) {
            s += bias[oc];
            abs += Math.abs(bias[oc]);
          }
          const o = ((n * g.outH + oh) * g.outW + ow) * g.outC + oc;
          if (residual) {
            s += residual[o];
            abs += Math.abs(residual[o]);
          }
          ref[o] = activate(s, activation);
          absSum[o] = abs;
        }
  return { ref, absSum };
}

/** Max pooling by Math.max over the in-bounds taps (x NHWC at xOff): NaN in a window wins, ±0 ties give +0. */
export function poolReference(g: Conv2dGeometry, x: Float32Array, xOff: number): Float32Array {
  const out = new Float32Array(g.batch * g.outH * g.outW * g.inC);
  for (let n = 0; n < g.batch; n++)
    for (let oh = 0; oh < g.outH; oh++)
      for (let ow = 0; ow < g.outW; ow++)
        for (let c = 0; c < g.inC; c++) {
          let m = -Infinity;
          for (let kh = 0; kh < g.kH; kh++)
            for (let kw = 0; kw < g.kW; kw++) {
              const ih = oh * g.strideH - g.padTop + kh * g.dilationH;
              const iw = ow * g.strideW - g.padLeft + kw * g.dilationW;
              if (ih < 0 || ih >= g.inH || iw < 0 || iw >= g.inW) continue;
              m = Math.max(m, x[xOff + ((n * g.inH + ih) * g.inW + iw) * g.inC + c]);
            }
          out[((n * g.outH + oh) * g.outW + ow) * g.inC + c] = m;
        }
  return out;
}
