import { Tensor, attrsOf, batchNorm, type Activation, type Graph } from '@tessera/core';
import { constant, named, op, any, type Match, type OpPattern, type RewriteRule } from '../rewrite.js';
import { rulePass } from './rule-pass.js';

/*
 * Batch-norm folding: y = (p - mean) * s + offset with s = scale / sqrt(variance + epsilon), per
 * output channel c, applied to a product p = conv(x, w) (+ b) that is linear in its constant
 * weights, is the product with w'[.., c] = w[.., c] * s[c] plus a bias b'[c] = (b[c] - mean[c]) * s[c]
 * + offset[c]. The replacement is the product and a bias_add (the fusion pass then fuses them).
 *
 * Exact up to one rounding: w' and b' are computed in float64 from the float32 constants and
 * rounded to float32 once, so each changes by at most u = 2^-24 relative. Per output element the
 * rewritten graph's exact result then differs from the original's by at most
 *     allowance = u (sum_k |x_k| |w'_k| + |b'|)      (docs/SEMANTICS.md, "Batch-norm folding")
 * which lies inside the rewritten graph's own float32 bound at that node (its sum-of-products bound
 * has 2 (K + 2) u sum |x_k w'_k| and its bias addition 2 u (|p'| + |b'|)), and propagates through
 * later nodes as any bounded error does: the verify mode's |after - before| <= bound_before +
 * bound_after holds with it. A fold whose constants would not be finite (a variance below
 * -epsilon, an overflow) is declined.
 */

/** A product whose output channel is the last dimension and whose weights are a constant. */
interface Product {
  readonly op: 'conv2d' | 'depthwise_conv2d' | 'matmul';
  /** Its fused forms (bias, no activation, no residual: 3 operands). */
  readonly fused: 'fused_conv2d' | 'fused_depthwise_conv2d' | 'fused_matmul';
}

const PRODUCTS: readonly Product[] = [
  { op: 'conv2d', fused: 'fused_conv2d' },
  { op: 'depthwise_conv2d', fused: 'fused_depthwise_conv2d' },
  { op: 'matmul', fused: 'fused_matmul' },
];

const bn = (input: OpPattern): OpPattern =>
  named('bn', op('batch_norm', input, constant('mean'), constant('variance'), constant('offset'), constant('scale')));

/** The three forms of each product: plain, with bias_add, fused without activation. */
function forms(p: Product): { key: string; pattern: OpPattern }[] {
  const plain = named('main', op(p.op, any('x'), constant('w')));
  return [
    { key: p.op, pattern: plain },
    { key: `${p.op}+bias_add`, pattern: op('bias_add', plain, constant('b')) },
    { key: p.fused, pattern: named('main', op(p.fused, any('x'), constant('w'), constant('b'))) },
  ];
}

interface Factors {
  readonly s: Float64Array;
  readonly bias: Float64Array;
}

/** Per output channel: s = scale / sqrt(variance + epsilon) and the folded bias, in float64. */
function foldFactors(m: Match, tensor: (value: string) => Tensor): Factors | string {
  const { epsilon } = attrsOf(m.nodes.bn, batchNorm);
  const [mean, variance, offset, scale] = ['mean', 'variance', 'offset', 'scale'].map((k) => tensor(m.values[k]).data);
  const b = m.values.b === undefined ? undefined : tensor(m.values.b).data;
  const s = new Float64Array(mean.length);
  const bias = new Float64Array(mean.length);
  for (let c = 0; c < mean.length; c++) {
    s[c] = scale[c] / Math.sqrt(variance[c] + epsilon);
    bias[c] = ((b ? b[c] : 0) - mean[c]) * s[c] + offset[c];
    if (!Number.isFinite(s[c]) || !Number.isFinite(bias[c])) return `channel ${c}: the folded scale or bias is not finite`;
  }
  return { s, bias };
}

/** The index of the output channel of flat weight element i (the last weight dimension, or op(B)'s columns). */
function channelOf(m: Match, w: Tensor, channels: number): (i: number) => number {
  const transposed = (m.nodes.main.attrs as { transposeB?: boolean }).transposeB === true; // matmul only
  if (!transposed) return (i) => i % channels;
  const k = w.shape[w.shape.length - 1];
  return (i) => Math.floor(i / k) % channels;
}

/** w' = w * s per output channel, rounded to float32 once; null if an element overflows. */
function scaledWeights(m: Match, w: Tensor, s: Float64Array): Float32Array | null {
  const channel = channelOf(m, w, s.length);
  const out = new Float32Array(w.data.length);
  for (let i = 0; i < out.length; i++) {
    out[i] = w.data[i] * s[channel(i)];
    if (!Number.isFinite(out[i]) && Number.isFinite(w.data[i])) return null;
  }
  return out;
}

/** Plans in the condition (so a declined fold is reported), emits in the replacement. */
function makeRule(product: Product, form: { key: string; pattern: OpPattern }): RewriteRule {
  return {
    name: `fold-batch-norm ${form.key}`,
    pattern: bn(form.pattern),
    condition: (m: Match, g: Graph) => {
      const main = m.nodes.main;
      if (main.op === product.fused && (main.attrs as { activation: Activation }).activation !== 'none') return false;
      const w = g.constants.get(m.values.w)!;
      const factors = foldFactors(m, (v) => g.constants.get(v)!);
      if (typeof factors === 'string') return factors;
      return scaledWeights(m, w, factors.s) ? true : 'a folded weight overflows float32';
    },
    replace: (m, emit) => {
      const main = m.nodes.main;
      const factors = foldFactors(m, (v) => emit.tensor(v)) as Factors;
      const w = emit.tensor(m.values.w);
      const filter = emit.constant(`${main.name}/folded_${w.shape.length === 4 ? 'filter' : 'weights'}`, new Tensor(w.shape, scaledWeights(m, w, factors.s)!));
      const bias = emit.constant(`${main.name}/folded_bias`, new Tensor([factors.bias.length], Float32Array.from(factors.bias)));
      const { activation: _none, ...attrs } = main.attrs as Record<string, unknown>;
      const product = emit.node(main.op.replace(/^fused_/, ''), [m.values.x, filter], attrs, main.name);
      return emit.node('bias_add', [product, bias], {}, m.nodes.bn.name);
    },
    describe: (m: Match) => `fold-batch-norm: ${m.nodes.main.name} <- ${m.nodes.bn.name}`,
  };
}

export const foldBatchNormRules: readonly RewriteRule[] = PRODUCTS.flatMap((p) => forms(p).map((f) => makeRule(p, f)));

export const foldBatchNorm = rulePass(
  'fold-batch-norm',
  'folds a batch_norm with constant statistics into the preceding conv2d / depthwise_conv2d / matmul with constant weights (scaled weights + bias_add)',
  foldBatchNormRules,
);
