import { z } from 'zod';
import type { RefTensor } from './spec.js';
import type { Shape } from '../shape.js';
import { numel } from '../shape.js';

/** Unit roundoff of float32. */
export const U32 = 2 ** -24;
/** Smallest normal float32: a backend that flushes subnormals to zero may lose this much per product. */
export const TINY32 = 2 ** -126;
/** Slack for a change of summation order, fused multiply-add and the final rounding (DESIGN.md section 5). */
export const BOUND_C = 2;

/**
 * What a backend's other algorithm (Winograd, Strassen: algorithms.ts) adds to an output's bound:
 * rigorous (`bound`) and probabilistic (`likely`), per output element.
 */
export interface AlgorithmAllowance {
  readonly bound: Float64Array;
  readonly likely: Float64Array;
}

/** Float32 error bound of a sum of `k` products whose absolute values add up to `absSum`. */
export function dotBound(k: number, absSum: number): number {
  return BOUND_C * (k + 2) * U32 * absSum + (k + 2) * TINY32;
}

/**
 * How many standard deviations the likely bound allows (Higham and Mary's probabilistic
 * analysis: a sum of k rounded products errs by more than lambda sqrt(k) u sum |x w| with
 * probability at most 2 exp(-lambda^2 / 2) when rounding errors are independent; 2e-9 at 6.5).
 */
export const LIKELY_LAMBDA = 6.5;

/**
 * The likely (probabilistic) bound of a sum of `k` products whose absolute values add up to
 * `absSum`: `dotBound` with sqrt(k + 2) in place of c (k + 2). The subnormal-flush terms stay
 * as they are (a flush is not a random rounding).
 */
export function likelyDotBound(k: number, absSum: number): number {
  return LIKELY_LAMBDA * Math.sqrt(k + 2) * U32 * absSum + (k + 2) * TINY32;
}

/**
 * Float32 error bound of one addition / rounding of a result of magnitude `abs`; the TINY32
 * terms allow each operand and the result to be flushed to zero when subnormal.
 */
export function addBound(abs: number): number {
  return BOUND_C * U32 * abs + 3 * TINY32;
}

/**
 * Float32 error bound of one division (or reciprocal then product) giving a result of magnitude
 * `abs`: GLSL ES 3.00 allows 2.5 ULP for `a / b` and for `1 / b`, and 1 ULP <= 2u relative, so
 * 10u covers both roundings of the reciprocal form; the TINY32 terms allow subnormal flushing.
 */
export function divBound(abs: number): number {
  return 5 * BOUND_C * U32 * abs + 3 * TINY32;
}

/**
 * Bound of a mean `sum / k`: `acc` accumulated the k terms (as products with an exact 1), so the
 * float32 sum's bound divided by k, plus the division's rounding. Non-finite means are exact (0).
 */
export function meanBound(acc: DotAccumulator, k: number, mean: number): number {
  return Number.isFinite(mean) ? acc.bound(k) / k + divBound(Math.abs(mean)) : 0;
}

/** The likely bound of a mean (`meanBound` with the sum's likely bound). */
export function meanLikely(acc: DotAccumulator, k: number, mean: number): number {
  return Number.isFinite(mean) ? acc.likely(k) / k + divBound(Math.abs(mean)) : 0;
}

export function refTensor(shape: Shape, value?: Float64Array, bound?: Float64Array): RefTensor {
  const n = numel(shape);
  return { shape, value: value ?? new Float64Array(n), bound: bound ?? new Float64Array(n) };
}

/** A zeroed reference tensor that also states a likely bound per element (the ops that sum K terms). */
export function refTensorWithLikely(shape: Shape): RefTensor & { readonly likely: Float64Array } {
  return { ...refTensor(shape), likely: new Float64Array(numel(shape)) };
}

/**
 * Wraps exact float32 data (an input or a constant) as a reference value with zero bound; the
 * data is exact, so are the signs of its zeros.
 */
export function exactRef(shape: Shape, data: ArrayLike<number>): RefTensor {
  return withSignedZeros(refTensor(shape, Float64Array.from(data)));
}

/** `t` with the sign of every zero specified (exact data, relu's +0). */
export function withSignedZeros(t: RefTensor): RefTensor {
  return { ...t, zeroSign: new Uint8Array(t.value.length).fill(1) };
}

/**
 * The accumulator of one output of a bilinear op (conv, matmul): the value, the sum of absolute
 * products, and the error carried in from the operands' own bounds.
 */
export class DotAccumulator {
  value = 0;
  abs = 0;
  carried = 0;
  reset(): void {
    this.value = 0;
    this.abs = 0;
    this.carried = 0;
  }
  add(x: number, bx: number, w: number, bw: number): void {
    const p = x * w;
    const ax = Math.abs(x);
    const aw = Math.abs(w);
    this.value += p;
    this.abs += Math.abs(p);
    if (bx !== 0 || bw !== 0) this.carried += bx * aw + ax * bw + bx * bw;
    // A device may flush a subnormal operand to zero (GLSL ES allows it): the product is then lost.
    if ((ax < TINY32 && ax !== 0) || (aw < TINY32 && aw !== 0)) this.carried += Math.abs(p);
  }
  /**
   * The float32 bound of this output, a sum of `k` products. A non-finite value must be matched
   * exactly (NaN by NaN, ±Inf by the same Inf), so its bound is 0 — which also keeps Inf * 0
   * from turning the bounds of later, finite values into NaN.
   */
  bound(k: number): number {
    return Number.isFinite(this.value) ? this.carried + dotBound(k, this.abs) : 0;
  }
  /**
   * The likely bound of this output: the operands' carried error in full (rigorous, so a graph's
   * likely bound tightens the last sums, not what flowed in) plus `likelyDotBound`, never more
   * than `bound` (for K < 9 the rigorous term is the smaller).
   */
  likely(k: number): number {
    return Number.isFinite(this.value) ? this.carried + Math.min(likelyDotBound(k, this.abs), dotBound(k, this.abs)) : 0;
  }
}

/** The activation a fused op applies after its bias: none, relu or relu6 (docs/SEMANTICS.md). */
export const activationAttr = z.enum(['none', 'relu', 'relu6']).default('none');
export type Activation = z.output<typeof activationAttr>;

/** The element function of an activation (NaN kept; a zero it gives is +0, except 'none'). */
export function activationValue(activation: Activation): ((x: number) => number) | undefined {
  return activation === 'relu' ? reluValue : activation === 'relu6' ? relu6Value : undefined;
}

/**
 * The epilogue shared by bias_add and the fused ops, applied in place to `out`'s arrays: the
 * per-channel `bias`, then the output-shaped `residual` (fused_conv2d's shortcut), each one
 * addition with its bound (also added to the likely bound), then the activation. Returns `out`,
 * with its zeros' signs specified (all +0) when the activation clamps.
 */
export function applyEpilogue(out: RefTensor, bias: RefTensor | undefined, activation: Activation, residual?: RefTensor): RefTensor {
  const c = bias ? bias.value.length : 1;
  const act = activationValue(activation);
  for (let i = 0; i < out.value.length; i++) {
    if (bias) addInPlace(out, i, bias, i % c);
    if (residual) addInPlace(out, i, residual, i);
    if (act) out.value[i] = act(out.value[i]);
  }
  return act ? withSignedZeros(out) : out;
}

/** out[i] += operand[j], one rounded addition: its bound (and the operand's) added; a non-finite sum is exact. */
function addInPlace({ value, bound, likely }: RefTensor, i: number, operand: RefTensor, j: number): void {
  const v = operand.value[j];
  const added = operand.bound[j] + addBound(Math.abs(value[i]) + Math.abs(v));
  value[i] += v;
  const finite = Number.isFinite(value[i]);
  bound[i] = finite ? bound[i] + added : 0;
  if (likely) likely[i] = finite ? likely[i] + added : 0;
}

/** relu with NaN propagated (Math.max would also propagate it, `x > 0 ? x : 0` would not); relu(-0) = +0. */
export function reluValue(x: number): number {
  return Number.isNaN(x) ? x : x > 0 ? x : 0;
}

/** relu6 = min(max(x, 0), 6) with NaN propagated; relu6(-0) = +0 (as `reluValue`). */
export function relu6Value(x: number): number {
  return Number.isNaN(x) ? x : x > 0 ? (x > 6 ? 6 : x) : 0;
}
