import { z } from 'zod';
import { OpError } from '../errors.js';
import { expectRank, type Shape } from '../shape.js';
import { resolveWindow, type ConvGeometry } from './conv2d.js';
import { TINY32, refTensor } from './numerics.js';
import { defineOp, type RefTensor } from './spec.js';
import { pair, type Padding } from './window.js';

/** tf.nn.max_pool2d (NHWC): conv2d's window geometry; padded cells never win; NaN in a window wins; a zero max keeps its cells' sign when they agree. */
export const maxpoolAttrs = z
  .object({
    ksize: pair,
    strides: pair,
    padding: z.union([z.literal('SAME'), z.literal('VALID')]),
  })
  .strict();
export type MaxpoolAttrs = z.output<typeof maxpoolAttrs>;

/** The window attributes of a pooling op (maxpool, avg_pool). */
export interface PoolAttrs {
  readonly ksize: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly padding: Padding;
}

/**
 * A pool's geometry: conv2d's windows with dilation 1. Explicit pads must be smaller than the
 * window, so that, as with SAME, every window holds an input cell (an average of none is undefined).
 */
export function poolGeometry(input: readonly number[], attrs: PoolAttrs): ConvGeometry {
  expectRank(input, [4], 'input');
  const [batch, inH, inW, inC] = input as [number, number, number, number];
  const [kH, kW] = attrs.ksize;
  if (typeof attrs.padding !== 'string') {
    const [[top, bottom], [left, right]] = attrs.padding;
    if (Math.max(top, bottom) >= kH || Math.max(left, right) >= kW) {
      throw new OpError(
        `explicit padding [[${top},${bottom}],[${left},${right}]] must be smaller than the window ${kH}x${kW} on each side (a window in the padding alone would hold no input cell)`,
      );
    }
  }
  const win = resolveWindow(inH, inW, kH, kW, { ...attrs, dilations: [1, 1] });
  return { batch, inH, inW, inC, kH, kW, outC: inC, ...win };
}

/**
 * Visits every output element o = (n, oy, ox, c) of a pool in row-major order with `cells`, the
 * offsets of channel 0 of its window's cells that lie inside the input, in window order (row-major);
 * element `cell + c` is the input value. Padded cells are left out.
 */
export function forEachPoolWindow(g: ConvGeometry, visit: (o: number, cells: readonly number[], c: number) => void): void {
  const cells: number[] = [];
  let o = 0;
  for (let n = 0; n < g.batch; n++)
    for (let oy = 0; oy < g.outH; oy++)
      for (let ox = 0; ox < g.outW; ox++) {
        cells.length = 0;
        for (let ky = 0; ky < g.kH; ky++) {
          const iy = oy * g.strideH + ky - g.padTop;
          if (iy < 0 || iy >= g.inH) continue;
          for (let kx = 0; kx < g.kW; kx++) {
            const ix = ox * g.strideW + kx - g.padLeft;
            if (ix >= 0 && ix < g.inW) cells.push(((n * g.inH + iy) * g.inW + ix) * g.inC);
          }
        }
        for (let c = 0; c < g.inC; c++, o++) visit(o, cells, c);
      }
}

const POS_ZERO = 1;
const NEG_ZERO = 2;
const MAYBE_ZERO = 4;

/**
 * What cell i may contribute as a zero max: a zero of specified sign (POS_ZERO / NEG_ZERO), a
 * value a correct device may hold as a zero of either sign (MAYBE_ZERO: an unspecified zero, a
 * value within its bound of 0, a subnormal it may flush), or nothing (0). A zero max's sign is
 * specified when its window's cells say one sign only: any max then returns it, whatever the
 * order of the taps and however ties go.
 */
function zeroKind(x: RefTensor, i: number): number {
  const v = x.value[i];
  if (v === 0 && x.zeroSign?.[i]) return Object.is(v, -0) ? NEG_ZERO : POS_ZERO;
  const a = Math.abs(v);
  return a <= x.bound[i] || a < TINY32 ? MAYBE_ZERO : 0;
}

/** What the pooling ops share: one NHWC operand, the output shape, and 0 MACs (comparisons and additions count none). */
export const poolOp = {
  inputs: ['input'],
  inferShape([input]: readonly Shape[], attrs: PoolAttrs): Shape {
    const g = poolGeometry(input, attrs);
    return [g.batch, g.outH, g.outW, g.outC];
  },
  cost: () => ({ macs: 0 }),
} as const;

export const maxpool = defineOp({
  name: 'maxpool',
  ...poolOp,
  attrs: maxpoolAttrs,
  reference([x], attrs): RefTensor {
    const g = poolGeometry(x.shape, attrs);
    const out = { ...refTensor([g.batch, g.outH, g.outW, g.outC]), zeroSign: new Uint8Array(g.batch * g.outH * g.outW * g.outC) };
    forEachPoolWindow(g, (o, cells, c) => {
      let best = -Infinity;
      let bound = 0;
      let zeros = 0;
      // Largest magnitude of the window's cells below TINY (zeros and subnormals).
      let tiny = -1;
      for (const cell of cells) {
        const i = cell + c;
        best = Math.max(best, x.value[i]);
        bound = Math.max(bound, x.bound[i]);
        zeros |= zeroKind(x, i);
        const a = Math.abs(x.value[i]);
        if (a < TINY32) tiny = Math.max(tiny, a);
      }
      // A device that flushes subnormals when it compares (SwiftShader does) sees every cell
      // below TINY as a zero: when the max is one of them, it may return any of them.
      if (Math.abs(best) < TINY32 && tiny > 0) bound = Math.max(bound, Math.abs(best) + tiny);
      out.value[o] = best;
      out.bound[o] = bound;
      out.zeroSign[o] = zeros === POS_ZERO || zeros === NEG_ZERO ? 1 : 0;
    });
    return out;
  },
});
