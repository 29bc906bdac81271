/**
 * Element-wise kernels over a flat element range [start, end) (relative to
 * the given offsets), so a worker pool can split them anywhere.
 */
import type { Conv2dGeometry } from './conv2d.js';
import { maxpool } from './maxpool.js';

/** relu, relu6, bias_add (+ relu), batch_norm and maxpool, as the TypeScript kernels and the wasm ones (same bits) offer them. */
export interface ElementwiseKernels {
  relu(x: Float32Array, xOff: number, y: Float32Array, yOff: number, start: number, end: number): void;
  relu6(x: Float32Array, xOff: number, y: Float32Array, yOff: number, start: number, end: number): void;
  /** y = (x - mean[c]) * a[c] + offset[c] over elements [start, end) (c: the element's channel). */
  batchNorm(
    x: Float32Array, xOff: number, y: Float32Array, yOff: number, a: Float32Array, aOff: number,
    mean: Float32Array, meanOff: number, offset: Float32Array, offsetOff: number, channels: number, start: number, end: number,
  ): void;
  biasAdd(
    x: Float32Array, xOff: number, bias: Float32Array, biasOff: number, channels: number,
    y: Float32Array, yOff: number, start: number, end: number, relu?: boolean,
  ): void;
  maxpool(g: Conv2dGeometry, x: Float32Array, xOff: number, y: Float32Array, yOff: number, rowStart: number, rowEnd: number): void;
}

/** The TypeScript element-wise kernels (any Float32Array). */
export const jsElementwise: ElementwiseKernels = {
  relu,
  relu6,
  batchNorm,
  biasAdd: (x, xOff, bias, biasOff, channels, y, yOff, start, end, relu = false) =>
    biasAddMaybeRelu(x, xOff, bias, biasOff, channels, y, yOff, start, end, relu),
  maxpool,
};

function biasAddMaybeRelu(
  x: Float32Array, xOff: number,
  bias: Float32Array, biasOff: number, channels: number,
  y: Float32Array, yOff: number,
  start: number, end: number, relu: boolean,
): void {
  if (end <= start) return;
  if (channels <= 0) throw new RangeError(`biasAdd: channels must be positive, got ${channels}`);
  // Channel index advanced by wrap-around instead of a modulo per element.
  let ch = start % channels;
  let xi = xOff + start;
  let yi = yOff + start;
  for (let i = start; i < end; i++) {
    let v = x[xi++] + bias[biasOff + ch];
    if (relu && v <= 0) v = 0; // -0 too: relu's zeros are +0
    y[yi++] = v;
    if (++ch === channels) ch = 0;
  }
}

/** y[i] = max(x[i], 0); relu(NaN) = NaN (the `<= 0` test is false for NaN), relu(-0) = +0 (it is true for -0). */
export function relu(x: Float32Array, xOff: number, y: Float32Array, yOff: number, start: number, end: number): void {
  let xi = xOff + start;
  let yi = yOff + start;
  for (let i = start; i < end; i++) {
    const v = x[xi++];
    y[yi++] = v <= 0 ? 0 : v;
  }
}

/**
 * y = (x - mean[c]) * a[c] + offset[c], each operation rounded to float32 (Math.fround: the
 * values of the wasm kernel's f32 operations; a double result rounded once could differ).
 */
function batchNorm(
  x: Float32Array, xOff: number, y: Float32Array, yOff: number, a: Float32Array, aOff: number,
  mean: Float32Array, meanOff: number, offset: Float32Array, offsetOff: number, channels: number, start: number, end: number,
): void {
  let c = start % channels;
  for (let i = start; i < end; i++) {
    y[yOff + i] = Math.fround(Math.fround(x[xOff + i] - mean[meanOff + c]) * a[aOff + c]) + offset[offsetOff + c];
    if (++c === channels) c = 0;
  }
}

/** y[i] = x[i]; x and y may overlap (TypedArray.set copies as if through a temporary). */
export function copy(x: Float32Array, xOff: number, y: Float32Array, yOff: number, start: number, end: number): void {
  if (end <= start) return;
  y.set(x.subarray(xOff + start, xOff + end), yOff + start);
}

/**
 * y[i] = min(max(x[i], 0), 6); relu6(NaN) = NaN (both tests are false for NaN), relu6(-0) = +0
 * (`<= 0` is true for -0). x and y equal or disjoint.
 */
export function relu6(x: Float32Array, xOff: number, y: Float32Array, yOff: number, start: number, end: number): void {
  let xi = xOff + start;
  let yi = yOff + start;
  for (let i = start; i < end; i++) {
    const v = x[xi++];
    y[yi++] = v <= 0 ? 0 : v > 6 ? 6 : v;
  }
}

/** y[i] = value for i in [start, end). */
export function fill(y: Float32Array, yOff: number, value: number, start: number, end: number): void {
  if (end > start) y.fill(value, yOff + start, yOff + end);
}
