/**
 * Winograd convolution F(4x4, 3x3): its transforms, and the float32 error bound of a conv that a
 * backend runs with them (docs/SEMANTICS.md, "Winograd convolution"). The reference stays the
 * direct float64 conv; a backend that reports a node as Winograd (`Executable.algorithms`) is
 * judged by the direct bound plus `winogradAllowance`, which `winogradWiden` adds at those nodes.
 */
import type { Node } from '../graph.js';
import { attrsOf } from './spec.js';
import { conv2d, convGeometry, type Conv2dAttrs, type ConvGeometry } from './conv2d.js';
import { fusedConv2d } from './fused_conv2d.js';
import { BOUND_C, LIKELY_LAMBDA, TINY32, U32 } from './numerics.js';
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

/** What a backend's Winograd adds to a conv output's bound: rigorous (`bound`) and probabilistic (`likely`), per output element. */
export interface WinogradAllowance {
  readonly bound: Float64Array;
  readonly likely: Float64Array;
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
 */
export function winogradAllowance(x: RefTensor, f: RefTensor, attrs: Conv2dAttrs, t: WinogradTransform = WINOGRAD_F4X4_3X3): WinogradAllowance {
  const g = convGeometry(x.shape, f.shape, attrs);
  if (!winogradEligible(g, t)) throw new Error(`winogradAllowance: the conv is not F(${t.m}x${t.m}, ${t.r}x${t.r}) eligible`);
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
export const WINOGRAD_ALGORITHMS: Readonly<Record<string, WinogradTransform>> = { 'winograd-f4x4': WINOGRAD_F4X4_3X3 };

/**
 * The `evaluate` option `widen` for a backend that ran some convs with Winograd (`algorithms`:
 * node name -> algorithm): each such conv2d / fused_conv2d's bound (and likely bound) grows by
 * `winogradAllowance`; every other node keeps the direct bound.
 */
export function winogradWiden(algorithms: ReadonlyMap<string, string> | undefined): ((node: Node, inputs: readonly RefTensor[], out: RefTensor) => void) | undefined {
  if (!algorithms || ![...algorithms.values()].some((a) => a in WINOGRAD_ALGORITHMS)) return undefined;
  return (node, inputs, out) => {
    const name = algorithms.get(node.name);
    const transform = name === undefined ? undefined : WINOGRAD_ALGORITHMS[name];
    if (!transform) return;
    const attrs: Conv2dAttrs = node.op === 'fused_conv2d' ? attrsOf(node, fusedConv2d) : attrsOf(node, conv2d);
    const extra = winogradAllowance(inputs[0], inputs[1], attrs, transform);
    for (let i = 0; i < out.value.length; i++) {
      // A non-finite result is matched exactly (bound 0), whatever the algorithm.
      if (!Number.isFinite(out.value[i])) continue;
      out.bound[i] += extra.bound[i];
      if (out.likely) out.likely[i] += extra.likely[i];
    }
  };
}
