/**
 * Max pooling, NHWC, single pass over each window.
 */
import type { Conv2dGeometry } from './conv2d.js';

/**
 * y[rows rowStart..rowEnd) = max over each kH x kW window (rows are the
 * batch*outH*outW output pixels; g.outC must equal g.inC).
 * Padded cells act as -Infinity, so they never win against a real value.
 * NaN propagates: if any value of a window is NaN, the output is NaN.
 * Ties keep the first tap in window order (row-major): max(-0, +0) is the
 * sign of whichever comes first, not always +0 as Math.max. The wasm kernel
 * (./wasm/elementwise.ts) gives the same bits.
 */
export function maxpool(
  g: Conv2dGeometry,
  x: Float32Array, xOff: number,
  y: Float32Array, yOff: number,
  rowStart: number, rowEnd: number,
): void {
  const { inH, inW, inC: C, kH, kW, outH, outW, strideH, strideW, dilationH, dilationW, padTop, padLeft } = g;
  const M = g.batch * outH * outW;
  if (g.outC !== C) throw new RangeError(`maxpool: outC ${g.outC} != inC ${C}`);
  if (!(0 <= rowStart && rowStart <= rowEnd && rowEnd <= M)) {
    throw new RangeError(`maxpool: bad row range [${rowStart}, ${rowEnd}) for ${M} output pixels`);
  }
  if (rowStart === rowEnd) return;
  const ohw = outH * outW;
  let n = Math.floor(rowStart / ohw);
  const rem = rowStart - n * ohw;
  let oh = Math.floor(rem / outW);
  let ow = rem - oh * outW;
  const colStep = dilationW * C;
  const taps = new Int32Array(kH * kW);
  for (let r = rowStart; r < rowEnd; r++) {
    const out = yOff + r * C;
    // The in-bounds part of the window, clamped once per output pixel: taps
    // [khs, khe) x [kws, kwe). Padded cells are skipped, so they never win.
    const ih0 = oh * strideH - padTop;
    const iw0 = ow * strideW - padLeft;
    const khs = ih0 < 0 ? Math.ceil(-ih0 / dilationH) : 0;
    const khe = Math.min(kH, Math.ceil((inH - ih0) / dilationH));
    const kws = iw0 < 0 ? Math.ceil(-iw0 / dilationW) : 0;
    const kwe = Math.min(kW, Math.ceil((inW - iw0) / dilationW));
    if (khs >= khe || kws >= kwe) {
      y.fill(-Infinity, out, out + C); // no input cell in the window
    } else {
      // Addresses of the in-bounds taps, in window order (row-major).
      let nt = 0;
      for (let kh = khs; kh < khe; kh++) {
        let s = xOff + ((n * inH + ih0 + kh * dilationH) * inW + iw0 + kws * dilationW) * C;
        for (let kw = kws; kw < kwe; kw++, s += colStep) taps[nt++] = s;
      }
      const t0 = taps[0];
      if (nt === 1) {
        for (let c = 0; c < C; c++) y[out + c] = x[t0 + c];
      } else {
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
      }
    }
    if (++ow === outW) {
      ow = 0;
      if (++oh === outH) {
        oh = 0;
        n++;
      }
    }
  }
}
