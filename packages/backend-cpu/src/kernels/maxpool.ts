/**
 * Max pooling, NHWC, single pass over each window.
 */
import type { Conv2dGeometry } from './conv2d.js';

/**
 * y[rows rowStart..rowEnd) = max over each kH x kW window (rows are the
 * batch*outH*outW output pixels; g.outC must equal g.inC).
 * Padded cells act as -Infinity, so they never win against a real value.
 * NaN propagates: if any value of a window is NaN, the output is NaN.
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
  for (let r = rowStart; r < rowEnd; r++) {
    const out = yOff + r * C;
    y.fill(-Infinity, out, out + C);
    const ih0 = oh * strideH - padTop;
    const iw0 = ow * strideW - padLeft;
    for (let kh = 0, ih = ih0; kh < kH; kh++, ih += dilationH) {
      if (ih < 0 || ih >= inH) continue; // padding row: -Infinity never wins
      const rowBase = xOff + (n * inH + ih) * inW * C;
      for (let kw = 0, iw = iw0; kw < kW; kw++, iw += dilationW) {
        if (iw < 0 || iw >= inW) continue;
        maxInto(x, rowBase + iw * C, y, out, C);
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

/** y[o..o+C) = max(y, x[s..s+C)) with NaN propagation in both directions. */
function maxInto(x: Float32Array, s: number, y: Float32Array, o: number, C: number): void {
  for (let c = 0; c < C; c++) {
    const v = x[s + c];
    const m = y[o + c];
    // `v > m` alone would drop a NaN v, and a NaN m must stay: `m === m`
    // is false for NaN, so a NaN m is never replaced.
    if (v !== v || (v > m && m === m)) y[o + c] = v;
  }
}
