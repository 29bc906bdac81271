import { prng } from '@tessera/core';
import fc from 'fast-check';

/**
 * How the values of one tensor are drawn. The data itself is filled from `seed` by a small
 * PRNG (not element by element by fast-check), so cases stay cheap to generate; fast-check
 * shrinks the style (towards 'ints'), the exponent (towards 0) and the shapes around it.
 *
 * - `ints`: integers in [-3, 3]: zeros, negatives and many exact ties (maxpool).
 * - `uniform`: uniform in [-10^exp, 10^exp].
 * - `wide`: magnitudes spread over `span` decimal orders below 10^(exp + 1), random signs,
 *   about one zero in six: sums where large terms cancel and small ones matter.
 * - `sparse`: mostly zeros, a few values at the top and a few `span` orders below.
 */
export type DataStyle = 'ints' | 'uniform' | 'wide' | 'sparse';

export interface DataSpec {
  readonly style: DataStyle;
  /** Decimal exponent of the scale: values stay below 10^(exp + 1) in magnitude. */
  readonly exp: number;
  /** Decimal orders of magnitude below the scale that `wide` and `sparse` reach down to. */
  readonly span: number;
  readonly seed: number;
}

/** Smallest and largest decimal exponents data is drawn at (a 10^-20 times 10^-20 product is subnormal in float32). */
export const MIN_EXP = -20;

export interface DataSpecOptions {
  /** Largest `exp` (inclusive). */
  readonly maxExp: number;
  /** Smallest `exp` (inclusive). Default -20. */
  readonly minExp?: number;
  /** Relative weight of the `ints` style (default 1, the others 1 each). */
  readonly intsWeight?: number;
}

export function dataSpecArbitrary({ maxExp, minExp = MIN_EXP, intsWeight = 1 }: DataSpecOptions): fc.Arbitrary<DataSpec> {
  const lo = Math.min(minExp, maxExp);
  return fc.record({
    style: fc.oneof(
      { arbitrary: fc.constant<DataStyle>('ints'), weight: intsWeight },
      { arbitrary: fc.constantFrom<DataStyle>('uniform', 'wide', 'sparse'), weight: 3 },
    ),
    exp: fc.integer({ min: lo, max: maxExp }),
    span: fc.integer({ min: 0, max: 35 }),
    seed: fc.integer({ min: 0, max: 0x7fffffff }),
  });
}

/** An upper bound of |value| for data drawn from `spec`. */
export function dataMaxAbs(spec: DataSpec): number {
  return spec.style === 'ints' ? 3 : 10 ** (spec.exp + 1);
}

/** Fills `n` float32 values as `spec` says (deterministic in the spec). */
export function fillData(n: number, spec: DataSpec): Float32Array {
  const next = prng(spec.seed);
  const out = new Float32Array(n);
  const low = Math.max(MIN_EXP, spec.exp - spec.span);
  const scale = 10 ** spec.exp;
  const sign = () => (next() < 0.5 ? -1 : 1);
  for (let i = 0; i < n; i++) {
    switch (spec.style) {
      case 'ints':
        out[i] = Math.floor(next() * 7) - 3;
        break;
      case 'uniform':
        out[i] = (next() * 2 - 1) * scale;
        break;
      case 'wide': {
        if (next() < 1 / 6) break;
        const e = low + Math.floor(next() * (spec.exp - low + 1));
        out[i] = sign() * (1 + 9 * next()) * 10 ** e * 0.999;
        break;
      }
      case 'sparse': {
        const u = next();
        if (u < 0.7) break;
        out[i] = sign() * (1 + 9 * next()) * (u < 0.85 ? scale : 10 ** low) * 0.999;
        break;
      }
    }
  }
  return out;
}

/** A spec with its exponent lowered to at most `maxExp` (an `ints` spec becomes `uniform` if 3 is too large). */
export function capSpec(spec: DataSpec, maxExp: number): DataSpec {
  const exp = Math.max(MIN_EXP, Math.min(spec.exp, Math.floor(maxExp)));
  if (spec.style === 'ints' && Math.log10(3) < maxExp + 1) return spec;
  return { ...spec, style: spec.style === 'ints' ? 'uniform' : spec.style, exp };
}
