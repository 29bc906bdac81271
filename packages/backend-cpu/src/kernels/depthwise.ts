/**
 * Depthwise convolution with a bias + activation epilogue, over output-pixel ranges [start, end)
 * so a scheduler may split a step anywhere. A direct loop: memory-bound (K = KH x KW products per
 * output), so no im2col or GEMM. Channels are innermost (contiguous in input, filter and output).
 *
 * The contract both implementations keep, bit for bit (cpu and workers agree whatever the split):
 * every output starts at +0 and adds, tap by tap in window order, f32(x * w) in float32 (a padded
 * tap adds f32(0 * w), as the reference: NaN for a non-finite weight); then f32(+ bias); then the
 * activation (relu: x <= 0 -> +0; relu6: then x > 6 -> 6; NaN stays). The wasm SIMD kernel
 * (./wasm/depthwise.ts) runs multiplier 1 on wasm memory; this TypeScript one everything else.
 */
import type { Activation, ConvGeometry } from '@tessera/core';
import type { Memory } from '../program.js';
import { imagesOfRows } from './conv2d.js';
import { wasmDepthwiseFor } from './wasm/depthwise.js';

/** One depthwise call: operands as arrays plus element offsets, the filter [KH, KW, C, M]. */
export interface DepthwiseCall {
  readonly g: ConvGeometry;
  readonly multiplier: number;
  readonly x: Float32Array;
  readonly xOff: number;
  readonly w: Float32Array;
  readonly wOff: number;
  readonly bias: Float32Array | null;
  readonly biasOff: number;
  readonly y: Float32Array;
  readonly yOff: number;
  readonly activation: Activation;
}

/** Output pixels [start, end) of `c`: the wasm kernel where the memory has it, else the TypeScript one. */
export function depthwise(mem: Memory, c: DepthwiseCall, start: number, end: number): void {
  const pixels = c.g.batch * c.g.outH * c.g.outW;
  if (!(0 <= start && start <= end && end <= pixels)) {
    throw new RangeError(`depthwise: bad range [${start}, ${end}) for ${pixels} output pixels`);
  }
  if (start === end) return;
  checkOperands(c, start, end);
  const wasm = c.multiplier === 1 ? wasmDepthwiseFor(mem, c) : null;
  if (wasm) wasm.run(c, start, end);
  else jsDepthwise(c, start, end);
}

/** The elements the range reads and writes lie in their arrays (an offset alone may be negative: tiles). */
function checkOperands(c: DepthwiseCall, start: number, end: number): void {
  const { g } = c;
  const { first, end: last, floats } = imagesOfRows(g, start, end);
  const within = (what: string, arr: Float32Array, off: number, a: number, b: number): void => {
    if (off + a < 0 || off + b > arr.length) throw new RangeError(`depthwise ${what}: [${off + a}, ${off + b}) outside buffer of ${arr.length}`);
  };
  within('x', c.x, c.xOff, first * floats, last * floats);
  within('w', c.w, c.wOff, 0, g.kH * g.kW * g.outC);
  within('y', c.y, c.yOff, start * g.outC, end * g.outC);
  if (c.bias) within('bias', c.bias, c.biasOff, 0, g.outC);
}

const fr = Math.fround;

/** The TypeScript kernel (any multiplier, any Float32Array). */
export function jsDepthwise(c: DepthwiseCall, start: number, end: number): void {
  const { g, x, w, y } = c;
  const ohw = g.outH * g.outW;
  for (let r = start; r < end; r++) {
    const n = Math.floor(r / ohw);
    const oy = Math.floor((r - n * ohw) / g.outW);
    const ox = r - n * ohw - oy * g.outW;
    const out = c.yOff + r * g.outC;
    y.fill(0, out, out + g.outC);
    for (let ky = 0; ky < g.kH; ky++) {
      const iy = oy * g.strideH + ky * g.dilationH - g.padTop;
      for (let kx = 0; kx < g.kW; kx++) {
        const ix = ox * g.strideW + kx * g.dilationW - g.padLeft;
        const wb = c.wOff + (ky * g.kW + kx) * g.outC;
        if (iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW) {
          tap(x, c.xOff + ((n * g.inH + iy) * g.inW + ix) * g.inC, w, wb, y, out, g.inC, c.multiplier);
        } else {
          // A padded tap adds 0 * w, as the reference: NaN for a non-finite weight.
          for (let co = 0; co < g.outC; co++) y[out + co] += fr(0 * w[wb + co]);
        }
      }
    }
    epilogue(c, out);
  }
}

/** y[out + c M + m] += f32(x[xb + c] * w[wb + c M + m]) for every channel c and multiplier m. */
function tap(x: Float32Array, xb: number, w: Float32Array, wb: number, y: Float32Array, out: number, C: number, M: number): void {
  if (M === 1) {
    for (let c = 0; c < C; c++) y[out + c] += fr(x[xb + c] * w[wb + c]);
    return;
  }
  for (let c = 0, co = 0; c < C; c++) {
    const xv = x[xb + c];
    for (let m = 0; m < M; m++, co++) y[out + co] += fr(xv * w[wb + co]);
  }
}

/** Bias, then the activation, on one output pixel's channels at `out`. */
function epilogue(c: DepthwiseCall, out: number): void {
  const { y, bias, activation } = c;
  const C = c.g.outC;
  if (bias) for (let k = 0; k < C; k++) y[out + k] += bias[c.biasOff + k];
  if (activation === 'relu') {
    for (let k = out; k < out + C; k++) if (y[k] <= 0) y[k] = 0; // -0 too: relu's zeros are +0
  } else if (activation === 'relu6') {
    for (let k = out; k < out + C; k++) {
      const v = y[k];
      y[k] = v <= 0 ? 0 : v > 6 ? 6 : v;
    }
  }
}
