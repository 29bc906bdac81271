import { z } from 'zod';
import { OpError } from '../errors.js';

/**
 * Sliding-window geometry shared by conv2d and maxpool, exactly as tf.nn.conv2d defines it
 * (docs/SEMANTICS.md): VALID, SAME (extra padding after), or explicit [[top, bottom], [left, right]].
 */
const positiveInt = z.number().int().min(1).max(1 << 20);
const nonNegativeInt = z.number().int().min(0).max(1 << 20);

export const pair = z.tuple([positiveInt, positiveInt]);
export const paddingSchema = z.union([
  z.literal('SAME'),
  z.literal('VALID'),
  z.tuple([z.tuple([nonNegativeInt, nonNegativeInt]), z.tuple([nonNegativeInt, nonNegativeInt])]),
]);
export type Padding = z.infer<typeof paddingSchema>;

export interface Axis {
  readonly out: number;
  readonly padBefore: number;
  readonly padAfter: number;
}

/** Output size and padding of one spatial axis. */
export function windowAxis(
  axis: 'height' | 'width',
  input: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: Padding,
): Axis {
  const span = (kernel - 1) * dilation + 1;
  if (padding === 'SAME') {
    const out = Math.ceil(input / stride);
    const total = Math.max((out - 1) * stride + span - input, 0);
    const padBefore = Math.floor(total / 2);
    return { out, padBefore, padAfter: total - padBefore };
  }
  const [padBefore, padAfter] = padding === 'VALID' ? [0, 0] : padding[axis === 'height' ? 0 : 1];
  const padded = input + padBefore + padAfter;
  if (padded < span) {
    const how = padding === 'VALID' ? 'VALID' : 'explicitly padded';
    throw new OpError(
      `${how} window of ${axis} ${span} (kernel ${kernel}, dilation ${dilation}) is larger than the ${how === 'VALID' ? '' : 'padded '}input ${axis} ${padded}`,
    );
  }
  return { out: Math.floor((padded - span) / stride) + 1, padBefore, padAfter };
}

export interface Window2d {
  readonly h: Axis;
  readonly w: Axis;
}

export function window2d(
  inH: number,
  inW: number,
  kH: number,
  kW: number,
  strides: readonly [number, number],
  dilations: readonly [number, number],
  padding: Padding,
): Window2d {
  return {
    h: windowAxis('height', inH, kH, strides[0], dilations[0], padding),
    w: windowAxis('width', inW, kW, strides[1], dilations[1], padding),
  };
}
