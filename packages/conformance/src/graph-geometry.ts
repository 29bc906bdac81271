import { numel, type MeanAttrs, type Padding, type Shape } from '@tessera/core';
import { divisors } from './case.js';
import type { ConvChoice, MeanChoice, PoolChoice, ReshapeChoice, SliceAxisChoice } from './graph-recipe.js';

/*
 * The attributes of a random graph's step (graphs.ts) for the shape at hand: each a pure function
 * of the shape and the step's choice, clamped to what the shape allows.
 */

export interface ConvGeometryChoice {
  /** The filter: [kh, kw, cin, cout] for conv2d, [kh, kw, cin, multiplier] for depthwise_conv2d. */
  readonly filter: readonly [number, number, number, number];
  /** Output channels. */
  readonly channels: number;
  /** Products summed per output element. */
  readonly terms: number;
  readonly attrs: { strides: [number, number]; dilations: [number, number]; padding: Padding };
  readonly macs: number;
}

/**
 * A conv2d's (or, with `depthwise`, a depthwise_conv2d's) kernel, channels and attributes for an
 * NHWC input, within the budget (`fits`): fewer output channels (a lower multiplier), then a 1x1
 * kernel, as needed; undefined if even one channel of a 1x1 does not fit.
 */
export function convGeometry(input: Shape, choice: ConvChoice, depthwise: boolean, fits: (shape: Shape, macs: number) => boolean): ConvGeometryChoice | undefined {
  const [n, h, w, cin] = input;
  // Output channels for conv2d, the multiplier for depthwise_conv2d.
  let width = depthwise ? choice.multiplier : choice.channels;
  const channels = () => (depthwise ? cin * width : width);
  const dil = choice.dilated ? 2 : 1;
  const strides: [number, number] = dil > 1 ? [1, 1] : [choice.strides[0], choice.strides[1]];
  const same = choice.padding === 'SAME';
  const pads = choice.padding === 'explicit' ? choice.pads : ([0, 0, 0, 0] as const);
  const padding: Padding = choice.padding === 'explicit' ? [[pads[0], pads[1]], [pads[2], pads[3]]] : choice.padding;
  // Largest kernel whose dilated window fits the (padded) input; SAME fits any.
  const room = (size: number, before: number, after: number) => (same ? Infinity : Math.floor((size + before + after - 1) / dil) + 1);
  let kh = Math.min(choice.kernel[0], room(h, pads[0], pads[1]));
  let kw = Math.min(choice.kernel[1], room(w, pads[2], pads[3]));
  const outHW = (size: number, k: number, stride: number, before: number, after: number) =>
    same ? Math.ceil(size / stride) : Math.floor((size + before + after - ((k - 1) * dil + 1)) / stride) + 1;
  const shapeOf = (): Shape => [n, outHW(h, kh, strides[0], pads[0], pads[1]), outHW(w, kw, strides[1], pads[2], pads[3]), channels()];
  const terms = () => kh * kw * (depthwise ? 1 : cin);
  const macsOf = () => numel(shapeOf()) * terms();
  while (width > 1 && !fits(shapeOf(), macsOf())) width--;
  if (!fits(shapeOf(), macsOf())) kh = kw = 1;
  if (!fits(shapeOf(), macsOf())) return undefined;
  return { filter: [kh, kw, cin, width], channels: channels(), terms: terms(), attrs: { strides, dilations: [dil, dil], padding }, macs: macsOf() };
}

/** maxpool / avg_pool attributes: the chosen window, no larger than the input with VALID. */
export function poolAttrsFor(input: Shape, { window, strides, padding }: PoolChoice): { ksize: [number, number]; strides: [number, number]; padding: 'SAME' | 'VALID' } {
  const [, h, w] = input;
  const kh = padding === 'VALID' ? Math.min(window[0], h) : window[0];
  const kw = padding === 'VALID' ? Math.min(window[1], w) : window[1];
  return { ksize: [kh, kw], strides: [strides[0], strides[1]], padding };
}

/**
 * A mean that keeps the rank at 2 or more: NHWC, global average pooling (over [1, 2]); rank 3,
 * over the rows (as a sequence model pools) or, with keepdims, each row; rank 2, each row, kept
 * as a column.
 */
export function meanAttrsFor(shape: Shape, choice: MeanChoice): MeanAttrs {
  const rank = shape.length;
  let axes: number[];
  let keepdims = choice.keepdims;
  if (rank === 4) axes = [1, 2];
  else if (rank === 3 && !keepdims) axes = [1];
  else {
    axes = [rank - 1];
    keepdims = true;
  }
  return { axes: choice.negative ? axes.map((a) => a - rank) : axes, keepdims };
}

/** A strided slice of `shape`: each axis's start, stride and size as its choice says, clamped to the axis. */
export function sliceFor(shape: Shape, axes: readonly SliceAxisChoice[]): { begin: number[]; size: number[]; strides: number[] } {
  const begin: number[] = [];
  const size: number[] = [];
  const strides: number[] = [];
  shape.forEach((d, a) => {
    const { stride } = axes[a];
    const b0 = axes[a].begin % d;
    begin.push(b0);
    size.push(1 + (axes[a].size % (Math.floor((d - 1 - b0) / stride) + 1)));
    strides.push(stride);
  });
  return { begin, size, strides };
}

/** A reshape target for `shape`: the choice's form for that rank, perhaps with one dimension -1. */
export function reshapeFor(shape: Shape, choice: ReshapeChoice): number[] {
  const infer = (dims: number[]) => {
    if (!choice.wildcard) return dims;
    const at = choice.wildcardAt % dims.length;
    return dims.map((d, i) => (i === at ? -1 : d));
  };
  if (shape.length === 4) {
    const [n, h, w, c] = shape;
    switch (choice.form % 4) {
      case 0:
        return infer([n, h * w * c]); // flatten for a matmul tail
      case 1:
        return infer([n * h * w, c]); // pixels as rows: what a 1x1 conv is as a GEMM
      case 2:
        return infer([n, h * w, c]);
      default:
        return infer([n, w, h, c]); // same data, other spatial factorization
    }
  }
  if (shape.length === 2) {
    const [m, k] = shape;
    if (choice.form % 2 === 0) return infer([m, 1, 1, k]); // back to NHWC: rows as a batch of 1x1 images
    const ds = divisors(m);
    const d = ds[choice.divisor % ds.length];
    return infer([d, m / d, k]);
  }
  const [b, m, k] = shape;
  return infer(choice.form % 2 === 0 ? [b * m, k] : [b, m * k]);
}

/** A permutation of 0..rank-1 from `keys` (one per axis, the first `rank` read): axes sorted by key. */
export function permFromKeys(keys: readonly number[], rank: number): number[] {
  return [...Array(rank).keys()].sort((a, b) => keys[a] - keys[b] || a - b);
}
