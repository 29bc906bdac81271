/**
 * Winograd convolution F(4x4, 3x3) (3x3 filter, stride 1, dilation 1, any padding): per 4x4
 * output tile, the 6x6 input tile is transformed (BT d B), multiplied position by position with the
 * transformed filter U = G g GT (36 GEMMs of [tiles x C] x [C x K] on the program's packed GEMM)
 * and transformed back (AT m A), with the fused epilogue (bias, residual, activation). 36
 * multiplies per 16 outputs and channel pair instead of 144: 4x fewer.
 *
 * Units are tiles (batch, tile row, tile column), so a scheduler may split a step at any tile;
 * a tile's result does not depend on the range it runs in (splits give the same bits).
 *
 * The transforms run in WebAssembly SIMD where the memory has the module (./wasm/winograd.ts),
 * else in TypeScript here: both perform the same float32 operations in the same order (the
 * coefficient tables, term by term), so the same bits. A tile whose transformed result is not
 * finite (a NaN / Inf in its input, or overflow) is recomputed directly: Winograd's sums mix
 * every input of a tile into every output, so a single Inf would otherwise turn the whole tile
 * NaN where the direct conv (the definition) has finite outputs.
 *
 * Rounding differs from the direct conv's: docs/SEMANTICS.md "Winograd convolution" and core's
 * `winogradAllowance` bound it.
 */
import { phaseGeometry, phaseImageRows, WINOGRAD_F4X4_3X3, type Activation, type ConvGeometry, type WinogradTransform } from '@tessera/core';
import type { ConvOperands } from './conv2d.js';
import { EMPTY, gemmCall, releaseGemmCall, type Gemm, type GemmLayout } from './gemm-call.js';

/** One term of a transformed element: coefficient times element `k` of the row or column. */
export interface Term {
  readonly c: number;
  readonly k: number;
}

/** A transform matrix as the terms of each row (its non-zero coefficients, in column order): how both kernels evaluate it. */
export type TermRows = readonly (readonly Term[])[];

export function termRows(m: readonly (readonly number[])[]): TermRows {
  return m.map((row) => row.flatMap((c, k) => (c === 0 ? [] : [{ c, k }])));
}

/** A transform prepared for the kernels: the input and output term tables and the tile sizes. */
export interface WinogradPlan {
  readonly transform: WinogradTransform;
  /** Input tile side (m + r - 1) and positions (its square). */
  readonly alpha: number;
  readonly positions: number;
  readonly m: number;
  readonly inputRows: TermRows;
  readonly outputRows: TermRows;
}

export function winogradPlan(transform: WinogradTransform = WINOGRAD_F4X4_3X3): WinogradPlan {
  const alpha = transform.m + transform.r - 1;
  return { transform, alpha, positions: alpha * alpha, m: transform.m, inputRows: termRows(transform.BT), outputRows: termRows(transform.AT) };
}

export const F4X4 = winogradPlan();

const fr = Math.fround;

/**
 * sum of c * src(k) over the terms, in float32, as the wasm kernel evaluates it: the first term's
 * product (or the element itself for |c| = 1, negated for c < 0), then each next one's product
 * |c| * x added or subtracted, every operation rounded.
 */
export function combine(terms: readonly Term[], src: (k: number) => number): number {
  let acc = 0;
  for (let i = 0; i < terms.length; i++) {
    const { c, k } = terms[i];
    const a = Math.abs(c);
    const p = a === 1 ? src(k) : fr(a * src(k));
    acc = i === 0 ? (c < 0 ? -p : p) : fr(c < 0 ? acc - p : acc + p);
  }
  return acc;
}

/** dst[i][j] = (R s RT)[i][j] for a square side x side `s`, R given by `rows`: first the columns (R s), then the rows. */
export function sandwich32(rows: TermRows, s: Float32Array | number[], side: number, dst: Float32Array | number[]): void {
  const n = rows.length;
  const mid = new Float32Array(n * side);
  for (let i = 0; i < n; i++) for (let j = 0; j < side; j++) mid[i * side + j] = combine(rows[i], (k) => s[k * side + j]);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) dst[i * n + j] = combine(rows[j], (k) => mid[i * side + k]);
}

/**
 * The transformed filter U = G g GT per (position, c, k), in float64 rounded once to float32:
 * `positions` matrices C x K, position-major. Null when a weight or a transformed one is not
 * finite (the conv then runs directly: see the header).
 */
export function transformFilter(plan: WinogradPlan, filter: Float32Array, fOff: number, C: number, K: number): Float32Array | null {
  const { G, r } = plan.transform;
  const a = plan.alpha;
  const U = new Float32Array(plan.positions * C * K);
  const mid = new Float64Array(a * r);
  for (let c = 0; c < C; c++) {
    for (let k = 0; k < K; k++) {
      // mid = G g (alpha x r), then U = mid GT (alpha x alpha).
      for (let i = 0; i < a; i++) {
        for (let j = 0; j < r; j++) {
          let s = 0;
          for (let q = 0; q < r; q++) s += G[i][q] * filter[fOff + ((q * r + j) * C + c) * K + k];
          mid[i * r + j] = s;
        }
      }
      for (let i = 0; i < a; i++) {
        for (let j = 0; j < a; j++) {
          let s = 0;
          for (let q = 0; q < r; q++) s += mid[i * r + q] * G[j][q];
          const v = fr(s);
          if (!Number.isFinite(v)) return null;
          U[((i * a + j) * C + c) * K + k] = v;
        }
      }
    }
  }
  return U;
}

/** Floats of weights memory the packed transformed filter takes: one packed C x K matrix per position. */
export function packedFilterSize(plan: WinogradPlan, layout: GemmLayout, C: number, K: number): number {
  return plan.positions * positionStride(layout, C, K);
}

/** Floats between two positions' packed matrices (16-float aligned). */
export function positionStride(layout: GemmLayout, C: number, K: number): number {
  return Math.ceil(layout.packedBSize(C, K) / 16) * 16;
}

/** Packs the transformed filter `U` (from `transformFilter`) for the GEMM of `layout`, position after position. */
export function packFilter(plan: WinogradPlan, layout: GemmLayout, U: Float32Array, C: number, K: number, dst: Float32Array, off: number): void {
  const stride = positionStride(layout, C, K);
  for (let p = 0; p < plan.positions; p++) layout.packB(dst, off + p * stride, C, K, U, p * C * K, K, false);
}

/**
 * Tiles per chunk: the chunk's transformed input and product (positions x T x (C + K) floats)
 * stay within about 1 MiB, the L2 of a core, while its 36 GEMMs run; at least one register tile
 * of rows (`mr`), a multiple of it so that only the last chunk has an edge tile.
 */
const CHUNK_FLOATS = 256 * 1024;
export function winogradChunk(plan: WinogradPlan, C: number, K: number, mr: number): number {
  return Math.max(mr, Math.floor(CHUNK_FLOATS / (plan.positions * (C + K)) / mr) * mr);
}

/** Tiles of a conv: [batch, ceil(outH / m), ceil(outW / m)] in that order. */
export function tileCounts(plan: WinogradPlan, g: ConvGeometry): { readonly tilesH: number; readonly tilesW: number; readonly total: number } {
  const tilesH = Math.ceil(g.outH / plan.m);
  const tilesW = Math.ceil(g.outW / plan.m);
  return { tilesH, tilesW, total: g.batch * tilesH * tilesW };
}

const align16 = (n: number): number => Math.ceil(n / 16) * 16;

/**
 * Floats between two positions' matrices of `size` floats: an odd number of 64-byte lines, so that
 * the 36 streams the transforms write (V) and read (M) fall in 36 different sets of the L1 cache.
 * At a multiple of 4 KiB apart they would share one set and evict each other: W5's input
 * transform (T = 40 tiles of 128 channels, 20 KiB a position) ran 6x slower.
 */
function setSpreadStride(size: number): number {
  const lines = Math.ceil(size / 16);
  return 16 * (lines % 2 === 0 ? lines + 1 : lines);
}

/** The scratch regions (floats from the scratch's start) of a chunk of T tiles, and the floats between positions in V and M. */
export function scratchLayout(plan: WinogradPlan, C: number, K: number, T: number) {
  const vStride = setSpreadStride(T * C);
  const mStride = setSpreadStride(T * K);
  const V = 0;
  const M = V + plan.positions * vStride;
  const stage = M + plan.positions * mStride;
  const flags = stage + align16(plan.positions * C);
  return { V, M, vStride, mStride, stage, flags, size: flags + align16(T) };
}

/** Floats of scratch a run of tiles [start, end) needs. */
export function winogradScratchSize(plan: WinogradPlan, g: ConvGeometry, mr: number, start: number, end: number): number {
  if (end <= start) return 0;
  const T = Math.min(end - start, winogradChunk(plan, g.inC, g.outC, mr));
  return scratchLayout(plan, g.inC, g.outC, T).size;
}

/**
 * One Winograd call: tiles [start, end) of y = act(conv(x, w) (+ bias) (+ residual)), the
 * transformed filter packed at `u` (`packFilter`), the raw HWIO filter at `w` (for tiles
 * recomputed directly). Arrays plus element offsets, like ConvCall.
 */
export interface WinogradCall extends ConvOperands {
  plan: WinogradPlan;
  g: ConvGeometry;
  u: Float32Array;
  uOff: number;
}

/** The transforms of a chunk: the wasm ones (./wasm/winograd.ts) or the TypeScript ones below. */
export interface WinogradTransforms {
  /**
   * Rows [r0, r1) of image n's phase image (core's `phaseGeometry`) of the stride-2 conv `c.g`,
   * from `c.x`, into `c.scratch` from `c.scratchOff` (phase pixel after phase pixel, 4C floats each).
   */
  phaseRows(c: WinogradCall, n: number, r0: number, r1: number): void;
  /** V[p][j][c] (j < count) of tiles t0 + j, in the chunk's scratch (positions `scratchLayout`'s vStride apart). */
  input(c: WinogradCall, t0: number, count: number, T: number): void;
  /** y of tiles t0 + j from M[p][j][k], epilogue included; flags[j] = 1 (and counted) where the tile's conv part is not finite. */
  output(c: WinogradCall, t0: number, count: number, T: number): number;
}

// The GEMM call every chunk fills (kernels are synchronous: one per thread is enough).
const mm = gemmCall();

/**
 * Runs tiles [start, end) of the call on `gemm` with `transforms`; a tile whose result is not
 * finite is recomputed by `direct` (default: the conv directly, `directTile`).
 */
export function winograd(gemm: Gemm, transforms: WinogradTransforms, c: WinogradCall, start: number, end: number, direct = (t: number) => directTile(c, t)): void {
  const { plan, g } = c;
  const tiles = tileCounts(plan, g).total;
  if (!(0 <= start && start <= end && end <= tiles)) throw new RangeError(`winograd: bad tile range [${start}, ${end}) for ${tiles} tiles`);
  if (start === end) return;
  const C = g.inC;
  const K = g.outC;
  const Tmax = Math.min(end - start, winogradChunk(plan, C, K, gemm.mr));
  const lay = scratchLayout(plan, C, K, Tmax);
  if (c.scratchOff < 0 || c.scratchOff + lay.size > c.scratch.length) throw new RangeError(`winograd: scratch needs ${lay.size} floats at offset ${c.scratchOff}`);
  const stride = positionStride(gemm, C, K);
  const call = mm;
  call.N = K; call.K = C; call.transA = false; call.b = c.u; call.a = c.scratch; call.lda = C; call.c = c.scratch; call.ldc = K;
  call.bias = null; call.residual = null; call.activation = 'none'; call.rowStart = 0;
  for (let t0 = start; t0 < end; t0 += Tmax) {
    const T = Math.min(Tmax, end - t0);
    // The regions of a chunk of T tiles (the last chunk's are smaller: the transforms lay it out the same way).
    const l = scratchLayout(plan, C, K, T);
    transforms.input(c, t0, T, T);
    call.M = T; call.rowEnd = T;
    for (let p = 0; p < plan.positions; p++) {
      call.aOff = c.scratchOff + l.V + p * l.vStride;
      call.bOff = c.uOff + p * stride;
      call.cOff = c.scratchOff + l.M + p * l.mStride;
      gemm.run(call);
    }
    if (transforms.output(c, t0, T, T) > 0) {
      for (let j = 0; j < T; j++) if (c.scratch[c.scratchOff + l.flags + j] !== 0) direct(t0 + j);
    }
  }
  call.a = call.b = call.c = EMPTY;
  releaseGemmCall(call);
}

/** Phase rows tiles [start, end) of one image read at most: those of their tile rows and the r - 1 after. */
function phaseBandRows(plan: WinogradPlan, pg: ConvGeometry, start: number, end: number): number {
  const tileRows = Math.ceil((end - start) / tileCounts(plan, pg).tilesW) + 1;
  return Math.min(pg.inH, tileRows * plan.m + plan.transform.r - 1);
}

/** Floats of scratch `winogradPhases` needs for tiles [start, end): a band of phase rows, then `winograd`'s own. */
export function winogradPhasesScratchSize(plan: WinogradPlan, g: ConvGeometry, mr: number, start: number, end: number): number {
  if (end <= start) return 0;
  const pg = phaseGeometry(g);
  return align16(phaseBandRows(plan, pg, start, end) * pg.inW * pg.inC) + winogradScratchSize(plan, pg, mr, start, end);
}

/**
 * Tiles [start, end) of a stride-2 conv `c.g` (5x5 or 6x6 filter) run as Winograd over its phases
 * (core's `phaseGeometry`; `c.u`: the phase filter transformed). Image by image, the phase rows
 * the tiles read are gathered into the scratch, and `winograd` runs on them as on a stride-1 conv
 * of one image that starts at those rows (tile rows start at multiples of m, so the tiles are the
 * same). A tile whose result is not finite is recomputed by the strided conv itself (`directTile`
 * on `c`): products with the phase filter's zeros must not turn an Inf into a NaN.
 */
export function winogradPhases(gemm: Gemm, transforms: WinogradTransforms, c: WinogradCall, start: number, end: number): void {
  const { plan, g } = c;
  const pg = phaseGeometry(g);
  const { tilesW, total } = tileCounts(plan, pg);
  if (!(0 <= start && start <= end && end <= total)) throw new RangeError(`winograd: bad tile range [${start}, ${end}) for ${total} tiles`);
  const perImage = total / g.batch;
  const bandFloats = align16(phaseBandRows(plan, pg, start, end) * pg.inW * pg.inC);
  for (let t = start; t < end; ) {
    const n = Math.floor(t / perImage);
    const stop = Math.min(end, (n + 1) * perImage);
    // The band: phase rows [r0, r1) of image n, tile row ty0 on.
    const ty0 = Math.floor((t - n * perImage) / tilesW);
    const r0 = ty0 * plan.m;
    const first = n * perImage + ty0 * tilesW;
    transforms.phaseRows(c, n, r0, r0 + phaseBandRows(plan, pg, t - first, stop - first));
    const rows = (n * pg.outH + r0) * pg.outW * pg.outC;
    const band: WinogradCall = {
      ...c, g: { ...pg, batch: 1, inH: pg.inH - r0, outH: pg.outH - r0 }, x: c.scratch, xOff: c.scratchOff,
      yOff: c.yOff + rows, residualOff: c.residualOff + rows, scratchOff: c.scratchOff + bandFloats,
    };
    winograd(gemm, transforms, band, t - first, stop - first, (bt) => directTile(c, first + bt));
    t = stop;
  }
}

/** Tile t as (image, first output row, first output column). */
export function tileOrigin(plan: WinogradPlan, g: ConvGeometry, t: number): { readonly n: number; readonly oy: number; readonly ox: number } {
  const { tilesH, tilesW } = tileCounts(plan, g);
  const n = Math.floor(t / (tilesH * tilesW));
  const rem = t - n * tilesH * tilesW;
  const ty = Math.floor(rem / tilesW);
  return { n, oy: ty * plan.m, ox: (rem - ty * tilesW) * plan.m };
}

/** The TypeScript transforms (any channel counts, any Float32Array). */
export const jsTransforms: WinogradTransforms = {
  phaseRows(c, n, r0, r1) {
    phaseImageRows(c.g, c.x, c.xOff, n, r0, r1, c.scratch, c.scratchOff);
  },
  input(c, t0, count, T) {
    const { plan, g, x, scratch } = c;
    const a = plan.alpha;
    const C = g.inC;
    const { V, vStride } = scratchLayout(plan, C, g.outC, T);
    const d = new Float32Array(a * a);
    const v = new Float32Array(a * a);
    for (let j = 0; j < count; j++) {
      const { n, oy, ox } = tileOrigin(plan, g, t0 + j);
      for (let ch = 0; ch < C; ch++) {
        for (let i = 0; i < a; i++) {
          for (let q = 0; q < a; q++) {
            const iy = oy + i - g.padTop;
            const ix = ox + q - g.padLeft;
            const inside = iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW;
            d[i * a + q] = inside ? x[c.xOff + ((n * g.inH + iy) * g.inW + ix) * C + ch] : 0;
          }
        }
        sandwich32(plan.inputRows, d, a, v);
        for (let p = 0; p < plan.positions; p++) scratch[c.scratchOff + V + p * vStride + j * C + ch] = v[p];
      }
    }
  },
  output(c, t0, count, T) {
    const { plan, g, scratch, y, bias, residual } = c;
    const a = plan.alpha;
    const m = plan.m;
    const K = g.outC;
    const lay = scratchLayout(plan, g.inC, K, T);
    const mv = new Float32Array(a * a);
    const out = new Float32Array(m * m);
    let flagged = 0;
    for (let j = 0; j < count; j++) {
      const { n, oy, ox } = tileOrigin(plan, g, t0 + j);
      // The sum of the tile's conv values (before the epilogue), as the wasm kernel adds them up: not finite if any is not (or it overflows).
      let sum = 0;
      for (let k = 0; k < K; k++) {
        for (let p = 0; p < plan.positions; p++) mv[p] = scratch[c.scratchOff + lay.M + p * lay.mStride + j * K + k];
        sandwich32(plan.outputRows, mv, a, out);
        for (let i = 0; i < m; i++) {
          for (let q = 0; q < m; q++) {
            let v = out[i * m + q];
            sum = fr(sum + v);
            if (oy + i >= g.outH || ox + q >= g.outW) continue;
            const o = ((n * g.outH + oy + i) * g.outW + ox + q) * K + k;
            if (bias) v = fr(v + bias[c.biasOff + k]);
            if (residual) v = fr(v + residual[c.residualOff + o]);
            y[c.yOff + o] = activate(v, c.activation);
          }
        }
      }
      const bad = !Number.isFinite(sum);
      scratch[c.scratchOff + lay.flags + j] = bad ? 1 : 0;
      if (bad) flagged++;
    }
    return flagged;
  },
};

/** relu: v <= 0 -> +0 (NaN kept); relu6: then v > 6 -> 6. */
function activate(v: number, activation: Activation): number {
  if (activation === 'none') return v;
  if (v <= 0) return 0;
  return activation === 'relu6' && v > 6 ? 6 : v;
}

/** Tile t's outputs by the direct conv (any stride; sums of products in window order from +0), then the epilogue: for tiles whose Winograd result is not finite. */
export function directTile(c: WinogradCall, t: number): void {
  const { plan, g, x, w, y, bias, residual } = c;
  const { n, oy, ox } = tileOrigin(plan, g, t);
  const C = g.inC;
  const K = g.outC;
  for (let i = 0; i < plan.m && oy + i < g.outH; i++) {
    for (let q = 0; q < plan.m && ox + q < g.outW; q++) {
      const o = ((n * g.outH + oy + i) * g.outW + ox + q) * K;
      for (let k = 0; k < K; k++) {
        let acc = 0;
        for (let ky = 0; ky < g.kH; ky++) {
          for (let kx = 0; kx < g.kW; kx++) {
            const iy = (oy + i) * g.strideH + ky * g.dilationH - g.padTop;
            const ix = (ox + q) * g.strideW + kx * g.dilationW - g.padLeft;
            const inside = iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW;
            const xb = c.xOff + ((n * g.inH + iy) * g.inW + ix) * C;
            const wb = c.wOff + (ky * g.kW + kx) * C * K + k;
            // A padded tap adds 0 * w, as the reference.
            for (let ch = 0; ch < C; ch++) acc = fr(acc + fr((inside ? x[xb + ch] : 0) * w[wb + ch * K]));
          }
        }
        if (bias) acc = fr(acc + bias[c.biasOff + k]);
        if (residual) acc = fr(acc + residual[c.residualOff + o + k]);
        y[c.yOff + o + k] = activate(acc, c.activation);
      }
    }
  }
}
