/**
 * Average pooling, NHWC: each output the float32 sum of its window's cells inside the input,
 * divided by their count (padded cells are neither added nor counted, as in TensorFlow).
 */
import type { Conv2dGeometry } from './conv2d.js';
import { poolRows } from './maxpool.js';

/** Sums in window order, channels innermost (contiguous reads), accumulating in y itself. */
function meanPixel(x: Float32Array, y: Float32Array, out: number, C: number, taps: Int32Array, nt: number): void {
  const t0 = taps[0];
  for (let c = 0; c < C; c++) y[out + c] = x[t0 + c];
  for (let t = 1; t < nt; t++) {
    const s = taps[t];
    for (let c = 0; c < C; c++) y[out + c] += x[s + c];
  }
  if (nt > 1) for (let c = 0; c < C; c++) y[out + c] /= nt;
}

/**
 * y[rows rowStart..rowEnd) = mean over each window's in-bounds cells. Every window holds a cell
 * (core's poolGeometry guarantees it); an empty one would be 0 / 0 = NaN.
 */
export const avgPool = poolRows('avg_pool', meanPixel, NaN);
