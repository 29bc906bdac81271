/**
 * Winograd convolution F(4x4, 3x3): its transforms, and the float32 error bound of a conv that a
 * backend runs with them (docs/SEMANTICS.md, "Winograd convolution"). The reference stays the
 * direct float64 conv; a backend that reports a node as Winograd (`Executable.algorithms`) is
 * judged by the direct bound plus `winogradAllowance`, which `algorithmWiden` (algorithms.ts) adds at those nodes.
 */
import { convGeometry, type Conv2dAttrs, type ConvGeometry } from './conv2d.js';
import { BOUND_C, LIKELY_LAMBDA, TINY32, U32, type AlgorithmAllowance } from './numerics.js';
import type { RefTensor } from './spec.js';

/** A 1-D Winograd algorithm F(m, r): y = AT [(G g) .* (BT d)], nested for 2-D: Y = AT [(G g GT) .* (BT d B)] A. */
export interface WinogradTransform {
  /** Output tile side m and filter side r; the input tile is alpha = m + r - 1. */
  readonly m: number;
  readonly r: number;
  /** alpha x alpha: the input transform. */
  readonly BT: readonly (readonly number[])[];
  /** alpha x r: the filter transform (applied in float64, rounded to float32 once). */
  readonly G: readonly (readonly number[])[];
  /** m x alpha: the output transform. */
  readonly AT: readonly (readonly number[])[];
}

/**
 * F(4x4, 3x3) on the points 0, 1, -1, 2, -2 and infinity (Lavin and Gray, "Fast algorithms for
 * convolutional neural networks", 2016): BT and AT hold small integers (exact in float32), G the
 * fractions 1/4, 1/6, 1/12, 1/24.
 */
export const WINOGRAD_F4X4_3X3: WinogradTransform = {
  m: 4,
  r: 3,
  BT: [
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
  ],
  G: [
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
  ],
  AT: [
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, 0],
    [0, 1, 1, 4, 4, 0],
    [0, 1, -1, 8, -8, 1],
  ],
};

/** The largest count of non-zero coefficients in a row of a matrix: the terms of one transformed element per pass. */
export function termsPerRow(m: readonly (readonly number[])[]): number {
  return Math.max(...m.map((row) => row.filter((c) => c !== 0).length));
}

/**
 * The depth n of the algorithm's roundings (docs/SEMANTICS.md): each pass of a transform sums at
 * most `termsPerRow` rounded terms (two passes each for the input and the output transform), the
 * filter transform is rounded once from float64 (counted 2: its float64 error is far below u),
 * and the GEMM over C channels is a sum of C products.
 */
export function winogradDepth(t: WinogradTransform, channels: number): number {
  return 2 * termsPerRow(t.BT) + 2 + channels + 2 * termsPerRow(t.AT);
}

/** Whether a conv can run as Winograd F(m x m, r x r): an r x r filter, stride 1, dilation 1 (any padding). */
export function winogradEligible(g: ConvGeometry, t: WinogradTransform = WINOGRAD_F4X4_3X3): boolean {
  return g.kH === t.r && g.kW === t.r && g.strideH === 1 && g.strideW === 1 && g.dilationH === 1 && g.dilationW === 1;
}

/**
 * Whether a conv can run as Winograd F(4x4, 3x3) over its input's phases: stride 2, dilation 1,
 * a 5x5 or 6x6 filter (`phaseGeometry`).
 */
export function winogradPhasesEligible(g: ConvGeometry): boolean {
  const side = (k: number) => k === 5 || k === 6;
  return g.strideH === 2 && g.strideW === 2 && g.dilationH === 1 && g.dilationW === 1 && side(g.kH) && side(g.kW);
}

/**
 * A stride-2 conv with a filter of at most 6x6 is a stride-1 3x3 VALID conv over the four phases
 * of its padded input side by side as channels: phase channel (2p + q) C + c of phase pixel (i, j)
 * holds x[2i + p - padTop][2j + q - padLeft][c] (`phaseSource`; 0 outside x), and the phase filter
 * holds g[2di + p][2dj + q][c][k] at [di][dj][(2p + q) C + c][k] (0 past g: `phaseFilter`). Every
 * product of the strided conv appears once, plus products with those zeros: the same sum. This
 * is the geometry of that conv, which Winograd F(4x4, 3x3) then runs ('winograd-f4x4-s2').
 */
export function phaseGeometry(g: ConvGeometry): ConvGeometry {
  return {
    batch: g.batch, inH: g.outH + 2, inW: g.outW + 2, inC: 4 * g.inC, kH: 3, kW: 3, outC: g.outC, outH: g.outH, outW: g.outW,
    strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, padTop: 0, padLeft: 0, padBottom: 0, padRight: 0,
  };
}

/** The NHWC index into x of element (n, i, j, ch) of the phase image of a stride-2 conv `g`, or -1 where it is 0. */
export function phaseSource(g: ConvGeometry, n: number, i: number, j: number, ch: number): number {
  const c = ch % g.inC;
  const phase = (ch - c) / g.inC;
  const iy = 2 * i + (phase >> 1) - g.padTop;
  const ix = 2 * j + (phase & 1) - g.padLeft;
  return iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW ? ((n * g.inH + iy) * g.inW + ix) * g.inC + c : -1;
}

/** Rows [r0, r1) of image n's phase image of a stride-2 conv `g` (`phaseSource`), from the NHWC `src` at `srcOff` into `dst` from `dstOff`. */
export function phaseImageRows(g: ConvGeometry, src: ArrayLike<number>, srcOff: number, n: number, r0: number, r1: number, dst: Float32Array | Float64Array, dstOff: number): void {
  const { inW, inC } = phaseGeometry(g);
  let o = dstOff;
  for (let i = r0; i < r1; i++) {
    for (let j = 0; j < inW; j++) {
      for (let ch = 0; ch < inC; ch++) {
        const s = phaseSource(g, n, i, j, ch);
        dst[o++] = s < 0 ? 0 : src[srcOff + s];
      }
    }
  }
}

/** The phase filter [3, 3, 4C, K] of a stride-2 conv's HWIO filter `src` (at `off`), into `dst` (zeros past the filter). */
export function phaseFilter<T extends Float32Array | Float64Array>(g: ConvGeometry, src: ArrayLike<number>, off: number, dst: T): T {
  const { inC: C, outC: K } = g;
  dst.fill(0);
  for (let ky = 0; ky < g.kH; ky++) {
    for (let kx = 0; kx < g.kW; kx++) {
      const phase = 2 * (ky & 1) + (kx & 1);
      const at = (((ky >> 1) * 3 + (kx >> 1)) * 4 * C + phase * C) * K;
      for (let i = 0; i < C * K; i++) dst[at + i] = src[off + (ky * g.kW + kx) * C * K + i];
    }
  }
  return dst;
}

/** The phase image and filter of a stride-2 conv's operands, values and bounds (`phaseGeometry`). */
function phaseOperands(g: ConvGeometry, x: RefTensor, f: RefTensor): [RefTensor, RefTensor] {
  const p = phaseGeometry(g);
  const image = p.inH * p.inW * p.inC;
  const value = new Float64Array(p.batch * image);
  const bound = new Float64Array(p.batch * image);
  for (let n = 0; n < p.batch; n++) {
    phaseImageRows(g, x.value, 0, n, 0, p.inH, value, n * image);
    phaseImageRows(g, x.bound, 0, n, 0, p.inH, bound, n * image);
  }
  const fSize = 9 * p.inC * p.outC;
  const filter = { shape: [3, 3, p.inC, p.outC], value: phaseFilter(g, f.value, 0, new Float64Array(fSize)), bound: phaseFilter(g, f.bound, 0, new Float64Array(fSize)) };
  return [{ shape: [p.batch, p.inH, p.inW, p.inC], value, bound }, filter];
}

/**
 * The allowance of a conv run as Winograd, per output element [N, OH, OW, CO]:
 *
 *     bound  = (1 + 8u) c (n + 2) u W + tiny,   likely = (1 + 8u) min(lambda sqrt(n + 2), c (n + 2)) u W + tiny
 *     W      = |AT| ( sum over c of (|G| |g_c| |GT|) .* (|BT| |d_c| |B|) ) |A|        (at the output's tile)
 *     tiny   = 8 (alpha^2)^2 (C + 10) TINY (1 + max |U|) + 8 TINY
 *
 * with n = `winogradDepth`, `d_c` the tile's input (padded cells 0) and `g_c` the filter, each
 * widened by its own bound (the backend rounds what it is given), c = BOUND_C. The (1 + 8u)
 * covers the fused epilogue's additions, which round a value already off by this much.
 * Added to the direct bound (which still carries the operands' own error and the epilogue's).
 * A tile whose input holds a NaN or an Inf, or a conv whose filter does, is run directly by the
 * backend (the direct conv's non-finite pattern is the definition): no allowance there.
 * A stride-2 conv with a 5x5 or 6x6 filter gets the allowance of its phase conv (`phaseGeometry`:
 * the same outputs, with 4C channels and the phase image as `d`).
 */
export function winogradAllowance(x: RefTensor, f: RefTensor, attrs: Conv2dAttrs, t: WinogradTransform = WINOGRAD_F4X4_3X3): AlgorithmAllowance {
  const g = convGeometry(x.shape, f.shape, attrs);
  if (t === WINOGRAD_F4X4_3X3 && winogradPhasesEligible(g)) return phasesAllowance(g, x, f);
  if (!winogradEligible(g, t)) throw new Error(`winogradAllowance: the conv is not F(${t.m}x${t.m}, ${t.r}x${t.r}) eligible`);
  return directAllowance(x, f, g, t);
}

/** The allowance of a stride-2 conv run as Winograd over its phases: that of the phase conv, whose outputs are the conv's. */
function phasesAllowance(g: ConvGeometry, x: RefTensor, f: RefTensor): AlgorithmAllowance {
  const [px, pf] = phaseOperands(g, x, f);
  return directAllowance(px, pf, phaseGeometry(g), WINOGRAD_F4X4_3X3);
}

function directAllowance(x: RefTensor, f: RefTensor, g: ConvGeometry, t: WinogradTransform): AlgorithmAllowance {
  const a = t.m + t.r - 1;
  const P = a * a;
  const { inC: C, outC: K } = g;
  const absBT = t.BT.map((row) => row.map(Math.abs));
  const absAT = t.AT.map((row) => row.map(Math.abs));
  // |G| |g| |GT| per (c, k) at each of the alpha^2 positions, and the largest |U| for the tiny term.
  const absU = new Float64Array(C * K * P);
  const absG = t.G.map((row) => row.map(Math.abs));
  let maxU = 0;
  const gk = new Float64Array(t.r * t.r);
  for (let c = 0; c < C; c++) {
    for (let k = 0; k < K; k++) {
      for (let i = 0; i < t.r * t.r; i++) {
        const fi = (i * C + c) * K + k;
        gk[i] = Math.abs(f.value[fi]) + f.bound[fi];
      }
      const u = sandwich(absG, gk, t.r);
      absU.set(u, (c * K + k) * P);
      for (const v of u) maxU = Math.max(maxU, v);
    }
  }
  const n = winogradDepth(t, C);
  const rel = (1 + 8 * U32) * U32;
  const tiny = 8 * P * P * (C + 10) * TINY32 * (1 + maxU) + 8 * TINY32;
  const bound = new Float64Array(g.batch * g.outH * g.outW * K);
  const likely = new Float64Array(bound.length);
  const tilesH = Math.ceil(g.outH / t.m);
  const tilesW = Math.ceil(g.outW / t.m);
  const d = new Float64Array(a * a);
  const absV = new Float64Array(C * P);
  const sum = new Float64Array(P);
  for (let nb = 0; nb < g.batch; nb++) {
    for (let ty = 0; ty < tilesH; ty++) {
      for (let tx = 0; tx < tilesW; tx++) {
        // |BT| |d_c| |B| of this tile, per channel. A tile whose input holds a NaN or an Inf runs
        // directly (a Winograd sum would spread it over the whole tile): no allowance there.
        let finite = Number.isFinite(maxU);
        for (let c = 0; c < C; c++) {
          for (let i = 0; i < a; i++) {
            for (let j = 0; j < a; j++) {
              const iy = ty * t.m + i - g.padTop;
              const ix = tx * t.m + j - g.padLeft;
              const inside = iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW;
              const xi = ((nb * g.inH + iy) * g.inW + ix) * C + c;
              d[i * a + j] = inside ? Math.abs(x.value[xi]) + x.bound[xi] : 0;
              finite &&= Number.isFinite(d[i * a + j]);
            }
          }
          absV.set(sandwich(absBT, d, a), c * P);
        }
        for (let k = 0; finite && k < K; k++) {
          sum.fill(0);
          for (let c = 0; c < C; c++) {
            const u = (c * K + k) * P;
            for (let p = 0; p < P; p++) sum[p] += absU[u + p] * absV[c * P + p];
          }
          const W = sandwich(absAT, sum, a);
          for (let i = 0; i < t.m; i++) {
            for (let j = 0; j < t.m; j++) {
              const oy = ty * t.m + i;
              const ox = tx * t.m + j;
              if (oy >= g.outH || ox >= g.outW) continue;
              const o = ((nb * g.outH + oy) * g.outW + ox) * K + k;
              const w = W[i * t.m + j];
              bound[o] = rel * BOUND_C * (n + 2) * w + tiny;
              likely[o] = rel * Math.min(LIKELY_LAMBDA * Math.sqrt(n + 2), BOUND_C * (n + 2)) * w + tiny;
            }
          }
        }
      }
    }
  }
  return { bound, likely };
}

/** M X MT for a rows x cols matrix M (non-negative entries) and a square cols x cols X, row-major. */
function sandwich(M: readonly (readonly number[])[], X: Float64Array, cols: number): Float64Array {
  const rows = M.length;
  const left = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let k = 0; k < cols; k++) s += M[i][k] * X[k * cols + j];
      left[i * cols + j] = s;
    }
  }
  const out = new Float64Array(rows * rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < rows; j++) {
      let s = 0;
      for (let k = 0; k < cols; k++) s += left[i * cols + k] * M[j][k];
      out[i * rows + j] = s;
    }
  }
  return out;
}

/** Algorithm names a backend reports (`Executable.algorithms`) for a Winograd conv. */
export const WINOGRAD_ALGORITHMS: Readonly<Record<string, WinogradTransform>> = { 'winograd-f4x4': WINOGRAD_F4X4_3X3, 'winograd-f4x4-s2': WINOGRAD_F4X4_3X3 };
