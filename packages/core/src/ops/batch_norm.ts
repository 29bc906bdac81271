import { z } from 'zod';
import { OpError } from '../errors.js';
import { numel, shapeStr } from '../shape.js';
import { checkBias } from './fused_conv2d.js';
import { BOUND_C, TINY32, U32, refTensor } from './numerics.js';
import { defineOp, type RefTensor } from './spec.js';

/** Largest finite float32. */
const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Inference batch normalization, tf.nn.batch_normalization with per-channel (last dimension)
 * statistics: y = (x - mean) * scale / sqrt(variance + epsilon) + offset. Epsilon is a normal
 * float32 (a device flushes a smaller one to 0); Keras' default 1e-3.
 */
export const batchNormAttrs = z
  .object({ epsilon: z.number().min(TINY32).max(FLOAT32_MAX).default(1e-3) })
  .strict();
export type BatchNormAttrs = z.output<typeof batchNormAttrs>;

export const BATCH_NORM_OPERANDS = ['x', 'mean', 'variance', 'offset', 'scale'] as const;

/** Per channel: r = 1 / sqrt(variance + epsilon), its relative float32 error, and its largest value given variance's bound. */
interface Channel {
  readonly r: number;
  readonly relR: number;
  readonly rHi: number;
}

function channel(v: number, bv: number, eps: number): Channel {
  const t = v + eps;
  const r = 1 / Math.sqrt(t);
  // fl32(epsilon) and the addition err by u (|v| + eps) (a subnormal v flushed: TINY), halved by
  // the root; the root and the reciprocal take 6u (IEEE sqrt + divide 1.5u, GLSL inversesqrt 2 ULP = 4u).
  const relR = (U32 * (Math.abs(v) + eps) + TINY32) / Math.abs(t) + 6 * U32;
  const rHi = bv === 0 ? r : t - bv > 0 ? 1 / Math.sqrt(t - bv) : Infinity;
  return { r, relR, rHi };
}

/**
 * What flushing a subnormal product of two of |d|, |scale|, r loses: that product times the third
 * factor, so all of |d| |scale| r, yet at most TINY times the third factor. d * scale (the
 * difference-first order) loses TINY r, d * r TINY |scale|; scale * r (the folded order) loses
 * TINY |d|, already in the bound's 4 TINY |d|.
 */
function flushTerm(ad: number, as: number, r: number): number {
  return Math.min(ad * as * r, TINY32 * (r + as));
}

/**
 * Float64 batch norm with bounds. With d = x - mean, a = |scale| r, A = (|x| + |mean|) a + |offset|:
 * at most 5 roundings of terms no larger than A in any association (d, d*scale, *r, +offset; or
 * scale*r, x*a, mean*a, offset - mean*a, the sum: the folded form cancels, hence |x| + |mean|),
 * plus r's own relative error on |d| a; c = BOUND_C covers the order as for sums. TINY terms let
 * any operand, intermediate or result be flushed when subnormal (a subnormal scale: all of d a),
 * including the product of two of d, scale, r, whichever a backend forms (flushTerm).
 * Operand bounds propagate by interval arithmetic (r up to rHi).
 */
export function batchNormReference(x: RefTensor, [m, v, o, s]: readonly RefTensor[], epsilon: number): RefTensor {
  const out = refTensor(x.shape);
  const C = m.value.length;
  const channels = Array.from({ length: C }, (_, c) => channel(v.value[c], v.bound[c], epsilon));
  for (let i = 0; i < x.value.length; i++) {
    const c = i % C;
    const { r, relR, rHi } = channels[c];
    const xi = x.value[i];
    const mi = m.value[c];
    const si = s.value[c];
    const d = xi - mi;
    const y = ((d * si) * r) + o.value[c];
    out.value[i] = y;
    if (!Number.isFinite(y)) continue; // matched exactly: bound 0
    const as = Math.abs(si);
    const ad = Math.abs(d);
    const A = (Math.abs(xi) + Math.abs(mi)) * as * r + Math.abs(o.value[c]);
    let bound = BOUND_C * (5 * U32 * A + relR * ad * as * r) + 4 * TINY32 * (1 + as * r + ad) + flushTerm(ad, as, r);
    if (as < TINY32) bound += ad * as * r;
    const bx = x.bound[i] + m.bound[c];
    const bs = s.bound[c];
    if (bx !== 0 || bs !== 0 || rHi !== r || o.bound[c] !== 0) {
      const carried = bx * (as + bs) * rHi + bs * ad * rHi + (rHi === r ? 0 : ad * as * (rHi - r)) + o.bound[c];
      // A variance whose bound reaches -epsilon leaves r unbounded: cap, so later 0 * bound stays 0.
      bound = Number.isFinite(carried) ? bound + carried : Number.MAX_VALUE;
    }
    out.bound[i] = bound;
  }
  return out;
}

export const batchNorm = defineOp({
  name: 'batch_norm',
  inputs: BATCH_NORM_OPERANDS,
  elementwise: true,
  attrs: batchNormAttrs,
  inferShape([x, ...stats]) {
    if (x.length < 1) throw new OpError(`x ${shapeStr(x)} must have a channel dimension`);
    const channels = x[x.length - 1];
    stats.forEach((shape, k) => checkBias(shape, channels, BATCH_NORM_OPERANDS[k + 1]));
    return x;
  },
  // One multiply-add per element (scale / sqrt folded per channel).
  cost: (_, output) => ({ macs: numel(output) }),
  reference([x, ...stats], attrs) {
    return batchNormReference(x, stats, attrs.epsilon);
  },
});
