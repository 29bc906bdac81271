import { z } from 'zod';
import { expectRank } from '../shape.js';
import { resolveWindow, type ConvGeometry } from './conv2d.js';
import { TINY32, refTensor } from './numerics.js';
import { defineOp, type RefTensor } from './spec.js';
import { pair } from './window.js';

/** tf.nn.max_pool2d (NHWC): conv2d's window geometry; padded cells never win; NaN in a window wins; a zero max keeps its cells' sign when they agree. */
export const maxpoolAttrs = z
  .object({
    ksize: pair,
    strides: pair,
    padding: z.union([z.literal('SAME'), z.literal('VALID')]),
  })
  .strict();
export type MaxpoolAttrs = z.output<typeof maxpoolAttrs>;

export function poolGeometry(input: readonly number[], attrs: MaxpoolAttrs): ConvGeometry {
  expectRank(input, [4], 'input');
  const [batch, inH, inW, inC] = input as [number, number, number, number];
  const [kH, kW] = attrs.ksize;
  const win = resolveWindow(inH, inW, kH, kW, { ...attrs, dilations: [1, 1] });
  return { batch, inH, inW, inC, kH, kW, outC: inC, ...win };
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

export const maxpool = defineOp({
  name: 'maxpool',
  inputs: ['input'],
  attrs: maxpoolAttrs,
  inferShape([input], attrs) {
    const g = poolGeometry(input, attrs);
    return [g.batch, g.outH, g.outW, g.outC];
  },
  cost: () => ({ macs: 0 }),
  reference([x], attrs): RefTensor {
    const g = poolGeometry(x.shape, attrs);
    const out = { ...refTensor([g.batch, g.outH, g.outW, g.outC]), zeroSign: new Uint8Array(g.batch * g.outH * g.outW * g.outC) };
    let o = 0;
    for (let n = 0; n < g.batch; n++)
      for (let oy = 0; oy < g.outH; oy++)
        for (let ox = 0; ox < g.outW; ox++)
          for (let c = 0; c < g.inC; c++, o++) {
            let best = -Infinity;
            let bound = 0;
            let zeros = 0;
            // Largest magnitude of the window's cells below TINY (zeros and subnormals).
            let tiny = -1;
            for (let ky = 0; ky < g.kH; ky++) {
              const iy = oy * g.strideH + ky - g.padTop;
              if (iy < 0 || iy >= g.inH) continue;
              for (let kx = 0; kx < g.kW; kx++) {
                const ix = ox * g.strideW + kx - g.padLeft;
                if (ix < 0 || ix >= g.inW) continue;
                const i = ((n * g.inH + iy) * g.inW + ix) * g.inC + c;
                best = Math.max(best, x.value[i]);
                bound = Math.max(bound, x.bound[i]);
                zeros |= zeroKind(x, i);
                const a = Math.abs(x.value[i]);
                if (a < TINY32) tiny = Math.max(tiny, a);
              }
            }
            // A device that flushes subnormals when it compares (SwiftShader does) sees every cell
            // below TINY as a zero: when the max is one of them, it may return any of them.
            if (Math.abs(best) < TINY32 && tiny > 0) bound = Math.max(bound, Math.abs(best) + tiny);
            out.value[o] = best;
            out.bound[o] = bound;
            out.zeroSign[o] = zeros === POS_ZERO || zeros === NEG_ZERO ? 1 : 0;
          }
    return out;
  },
});
