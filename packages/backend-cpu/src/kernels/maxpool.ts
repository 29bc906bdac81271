/**
 * Max pooling, NHWC, single pass over each window; the window taps shared with avg_pool.
 */
import type { Conv2dGeometry } from './conv2d.js';

/** Grown once per thread and reused: the taps of one output pixel (maxpool, avg_pool). */
let tapBuffer = new Int32Array(0);

/** A buffer for the taps of a kH x kW window (reused: no allocation per run). */
export function windowTapBuffer(g: Conv2dGeometry): Int32Array {
  if (tapBuffer.length < g.kH * g.kW) tapBuffer = new Int32Array(g.kH * g.kW);
  return tapBuffer;
}

/** Checks [rowStart, rowEnd) is a range of the pool's output pixels and outC = inC. */
export function checkPoolRange(what: string, g: Conv2dGeometry, rowStart: number, rowEnd: number): void {
  const M = g.batch * g.outH * g.outW;
  if (g.outC !== g.inC) throw new RangeError(`${what}: outC ${g.outC} != inC ${g.inC}`);
  if (!(0 <= rowStart && rowStart <= rowEnd && rowEnd <= M)) {
    throw new RangeError(`${what}: bad row range [${rowStart}, ${rowEnd}) for ${M} output pixels`);
  }
}

/**
 * Writes to `taps` the offsets in x (channel 0) of output pixel r's window cells that lie inside
 * the input, in window order (row-major), and returns their count (0: none). The in-bounds part
 * of the window is clamped once: taps [khs, khe) x [kws, kwe); padded cells are left out.
 */
export function windowTaps(g: Conv2dGeometry, xOff: number, r: number, taps: Int32Array): number {
  const { inH, inW, inC: C, kH, kW, outH, outW, dilationH, dilationW } = g;
  const n = Math.floor(r / (outH * outW));
  const rem = r - n * outH * outW;
  const oh = Math.floor(rem / outW);
  const ih0 = oh * g.strideH - g.padTop;
  const iw0 = (rem - oh * outW) * g.strideW - g.padLeft;
  const khs = ih0 < 0 ? Math.ceil(-ih0 / dilationH) : 0;
  const khe = Math.min(kH, Math.ceil((inH - ih0) / dilationH));
  const kws = iw0 < 0 ? Math.ceil(-iw0 / dilationW) : 0;
  const kwe = Math.min(kW, Math.ceil((inW - iw0) / dilationW));
  let nt = 0;
  for (let kh = khs; kh < khe; kh++) {
    let s = xOff + ((n * inH + ih0 + kh * dilationH) * inW + iw0 + kws * dilationW) * C;
    for (let kw = kws; kw < kwe; kw++, s += dilationW * C) taps[nt++] = s;
  }
  return nt;
}

/**
 * One output pixel of a pool: y[out .. out + C) from the nt >= 1 window taps in `taps` (offsets in
 * x of channel 0).
 */
type PoolPixel = (x: Float32Array, y: Float32Array, out: number, C: number, taps: Int32Array, nt: number) => void;

/**
 * The pool kernel that runs `pixel` on output pixels [rowStart, rowEnd) (rows are the
 * batch*outH*outW output pixels; g.outC must equal g.inC); a window with no input cell gives `empty`.
 */
export function poolRows(what: string, pixel: PoolPixel, empty: number) {
  return (
    g: Conv2dGeometry,
    x: Float32Array, xOff: number,
    y: Float32Array, yOff: number,
    rowStart: number, rowEnd: number,
  ): void => {
    checkPoolRange(what, g, rowStart, rowEnd);
    const C = g.inC;
    const taps = windowTapBuffer(g);
    for (let r = rowStart; r < rowEnd; r++) {
      const out = yOff + r * C;
      const nt = windowTaps(g, xOff, r, taps);
      if (nt === 0) y.fill(empty, out, out + C);
      else pixel(x, y, out, C, taps, nt);
    }
  };
}

/**
 * Max pooling. Padded cells act as -Infinity, so they never win against a real value.
 * NaN propagates: if any value of a window is NaN, the output is NaN.
 * Ties keep the first tap in window order (row-major): max(-0, +0) is the
 * sign of whichever comes first, not always +0 as Math.max. The wasm kernel
 * (./wasm/elementwise.ts) gives the same bits.
 */
const maxPixel: PoolPixel = (x, y, out, C, taps, nt) => {
  const t0 = taps[0];
  if (nt === 1) {
    for (let c = 0; c < C; c++) y[out + c] = x[t0 + c];
    return;
  }
  for (let c = 0; c < C; c++) {
    // Starting from the first tap: max(-Infinity, v) is v (v = -Infinity or NaN included).
    let m = x[t0 + c];
    for (let t = 1; t < nt; t++) {
      const v = x[taps[t] + c];
      // `v > m` alone would drop a NaN v; a NaN m stays (`v > NaN` is false).
      // Of equal values (-0 and +0) the first in window order is kept.
      if (v !== v || v > m) m = v;
    }
    y[out + c] = m;
  }
};

/** y[rows rowStart..rowEnd) = max over each kH x kW window (maxPixel); an empty window gives -Infinity. */
export const maxpool = poolRows('maxpool', maxPixel, -Infinity);
