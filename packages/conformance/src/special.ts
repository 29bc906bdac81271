import { Tensor, type Graph } from '@tessera/core';
import fc from 'fast-check';
import type { ConformanceCase } from './case.js';

/**
 * Opt-in data styles that the ordinary arbitraries never draw, as transforms of ordinary cases:
 *
 * - `nonfinite`: NaN, +Infinity, -Infinity and -0 written into a few places of the feeds and
 *   constants (filters, weights and biases included). The reference defines what must come out
 *   (docs/SEMANTICS.md): NaN propagates; padded conv cells are zeros that multiply the weights
 *   (an infinite weight at a padded border gives NaN); a NaN in a maxpool window wins and padded
 *   cells never win; relu(NaN) = NaN; Inf - Inf = NaN in sums and add, 0 * Inf = NaN in mul;
 *   relu(-0) = relu6(-0) = +0, and reshape, slice, concat, pad and a maxpool window of -0 keep -0. The comparison requires the exact NaN / ±Inf pattern of
 *   the reference, and the sign of each zero where the reference specifies it.
 * - `extreme`: every tensor renormalized to a magnitude near the edges of float32: up to ~3e38
 *   and down into the subnormals (~1e-45). For conv / matmul the operand scales are chosen so
 *   that no product or partial sum can overflow float32 (a float32 backend cannot follow the
 *   float64 reference through an overflow that later cancels), but a result may: an overflowing
 *   bias_add must give ±Infinity. Likewise depthwise_conv2d is scaled as conv, mean and avg_pool
 *   inputs stay below 3.4e32 (their sums below the float32 max), and batch_norm's x and mean so
 *   that (x - mean) * scale stays finite. Random graphs get their input scaled down to the subnormals or
 *   up by at most 10^3 (their magnitudes are budgeted to 1e30).
 *
 * Both shrink: fast-check shrinks the underlying case and the list of injections / exponents.
 */
export const SPECIAL_PROPERTIES = ['nonfinite', 'extreme'] as const;
export type SpecialProperty = (typeof SPECIAL_PROPERTIES)[number];

/** The tensors of a case that hold data, in a fixed order: feeds (sorted by name), then constants. */
function dataTensors(c: ConformanceCase): { name: string; kind: 'feed' | 'constant'; data: Float32Array }[] {
  return [
    ...Object.keys(c.feeds)
      .sort()
      .map((name) => ({ name, kind: 'feed' as const, data: c.feeds[name] })),
    ...[...c.graph.constants].map(([name, t]) => ({ name, kind: 'constant' as const, data: t.data })),
  ];
}

/** A copy of the case with some tensors' data replaced. */
function withData(c: ConformanceCase, replaced: ReadonlyMap<string, Float32Array>): ConformanceCase {
  const feeds = Object.fromEntries(Object.entries(c.feeds).map(([k, v]) => [k, replaced.get(k) ?? v]));
  let graph: Graph = c.graph;
  if ([...c.graph.constants.keys()].some((k) => replaced.has(k))) {
    const constants = new Map([...c.graph.constants].map(([k, t]) => [k, replaced.has(k) ? new Tensor(t.shape, replaced.get(k)!) : t]));
    graph = c.graph.with({ constants });
  }
  return { graph, feeds };
}

export interface Injection {
  /** Which tensor (modulo their count) and which element (modulo its size). */
  readonly tensor: number;
  readonly index: number;
  readonly value: number;
}

const injectionArb: fc.Arbitrary<Injection> = fc.record({
  tensor: fc.nat(16),
  index: fc.nat(100_000),
  value: fc.constantFrom(NaN, Infinity, -Infinity, -0),
});

/** Writes the injections into a copy of the case. */
export function injectNonFinite(c: ConformanceCase, injections: readonly Injection[]): ConformanceCase {
  const tensors = dataTensors(c);
  if (tensors.length === 0) return c;
  const replaced = new Map<string, Float32Array>();
  for (const inj of injections) {
    const t = tensors[inj.tensor % tensors.length];
    if (t.data.length === 0) continue;
    const data = replaced.get(t.name) ?? t.data.slice();
    data[inj.index % data.length] = inj.value;
    replaced.set(t.name, data);
  }
  return withData(c, replaced);
}

/** Cases of `base` with 1 to 4 NaN / ±Inf / -0 values written into their inputs and constants. */
export function nonFiniteArbitrary(base: fc.Arbitrary<ConformanceCase>): fc.Arbitrary<ConformanceCase> {
  return fc.tuple(base, fc.array(injectionArb, { minLength: 1, maxLength: 4 })).map(([c, inj]) => injectNonFinite(c, inj));
}

/** Decimal exponents for the `extreme` style: [first operand, second operand, bias], and a mantissa. */
export interface ExtremeScales {
  readonly exps: readonly [number, number, number];
  readonly mantissa: number;
}

const extremeScalesArb: fc.Arbitrary<ExtremeScales> = fc.record({
  exps: fc.tuple(fc.integer({ min: -45, max: 38 }), fc.integer({ min: -45, max: 38 }), fc.integer({ min: -45, max: 38 })),
  mantissa: fc.double({ min: 1, max: 3.4, noNaN: true }),
});

/** The largest magnitude in `data` (0 if empty). */
function maxAbs(data: Float32Array): number {
  let max = 0;
  for (const v of data) max = Math.max(max, Math.abs(v));
  return max;
}

/** Rescales `data` so its largest magnitude is `target` (rounded to float32; all-zero data stays zero). */
function renormalize(data: Float32Array, target: number): Float32Array {
  const max = maxAbs(data);
  if (max === 0) return data.slice();
  const s = target / max;
  return Float32Array.from(data, (v) => v * s);
}

const DOT_OPS = new Set(['conv2d', 'fused_conv2d', 'matmul', 'fused_matmul', 'depthwise_conv2d', 'fused_depthwise_conv2d']);
/** 10^2.5 > the largest K of a one-op case (5 * 5 * 12 = 300): products below 10^31 keep every partial sum below 10^34. */
const DOT_EXP_BUDGET = 31;
/** Ops that sum up to CASE_MACS / 8 = 2^17 < 10^5.2 elements: inputs below 3.4e32 keep every partial sum below float32's max. */
const SUM_OPS = new Set(['mean', 'avg_pool']);
const SUM_EXP_CAP = 32;

/** Applies extreme scales to a case (see the module comment). */
export function scaleExtreme(c: ConformanceCase, s: ExtremeScales): ConformanceCase {
  const replaced = new Map<string, Float32Array>();
  const data = (name: string) => c.feeds[name] ?? c.graph.constants.get(name)!.data;
  const [e0, e1, e2] = s.exps;
  if (c.graph.nodes.length === 1) {
    const node = c.graph.nodes[0];
    const [first, second, bias] = node.inputs;
    const top = (e: number) => Math.min(s.mantissa * 10 ** e, 3.4e38);
    if (DOT_OPS.has(node.op)) {
      // The operands' exponents add up to at most the budget: shift the larger one down.
      const a = e0;
      const b = Math.min(e1, DOT_EXP_BUDGET - a);
      replaced.set(first, renormalize(data(first), top(Math.max(a, -45))));
      replaced.set(second, renormalize(data(second), top(Math.max(b, -45))));
      if (bias !== undefined) replaced.set(bias, renormalize(data(bias), top(Math.min(e2, 36))));
    } else if (node.op === 'batch_norm') {
      // x and mean (scale as drawn): (x - mean) * scale stays below 2.2e38, the result may overflow.
      const cap = Math.floor(37.5 - Math.log10(Math.max(1, maxAbs(data(node.inputs[4])))));
      replaced.set(first, renormalize(data(first), top(Math.min(e0, cap))));
      if (c.graph.kind(second) !== 'node') replaced.set(second, renormalize(data(second), top(Math.min(e1, cap))));
    } else {
      replaced.set(first, renormalize(data(first), top(SUM_OPS.has(node.op) ? Math.min(e0, SUM_EXP_CAP) : e0)));
      if (second !== undefined && c.graph.kind(second) !== 'node') replaced.set(second, renormalize(data(second), top(e1)));
    }
  } else {
    // Random graph: scale its one input by 10^e, e in [-40, 3].
    const e = -40 + (((e0 % 44) + 44) % 44);
    const x = c.graph.inputs[0].name;
    replaced.set(x, Float32Array.from(c.feeds[x], (v) => v * 10 ** e));
  }
  return withData(c, replaced);
}

/** Cases of `base` renormalized to magnitudes near float32's overflow and into its subnormals. */
export function extremeArbitrary(base: fc.Arbitrary<ConformanceCase>): fc.Arbitrary<ConformanceCase> {
  return fc.tuple(base, extremeScalesArb).map(([c, s]) => scaleExtreme(c, s));
}
