import { Tensor, U32, attrsOf, batchNorm, evaluate, opSpec, type Activation, type Graph, type RefTensor } from '@tessera/core';
import { makeReport } from '../report.js';
import { applyRules, constant, named, op, any, type Match, type OpPattern, type RewriteRule } from '../rewrite.js';
import type { BoundAllowance, Pass, PassResult } from '../types.js';
import { PRODUCTS, type Product } from './conv-util.js';

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
 * which the pass states as its allowance: the verify mode (PassResult.allowance) and the
 * conformance suite (`allowance`) widen the rewritten graph's bounds by it at those nodes, and later
 * nodes carry it like any operand error. (It is also at most a quarter of the rewritten graph's own
 * float32 bound there: 2 (K + 2) u sum |x_k w'_k| for the products, 2 u (|p'| + |b'|) for the bias.)
 * A fold whose constants would not be finite (a variance below -epsilon, an overflow) is declined.
 */

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

/** The nodes a run's folds emitted: products with folded weights and bias_adds of folded biases. */
interface Folded {
  readonly products: Set<string>;
  readonly biases: Set<string>;
}

/** Plans in the condition (so a declined fold is reported), emits in the replacement (recorded in `folded`). */
function makeRule(product: Product, form: { key: string; pattern: OpPattern }, folded?: Folded): RewriteRule {
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
      const biased = emit.node('bias_add', [product, bias], {}, m.nodes.bn.name);
      folded?.products.add(product);
      folded?.biases.add(biased);
      return biased;
    },
    describe: (m: Match) => `fold-batch-norm: ${m.nodes.main.name} <- ${m.nodes.bn.name}`,
  };
}

const rulesRecording = (folded?: Folded): RewriteRule[] => PRODUCTS.flatMap((p) => forms(p).map((f) => makeRule(p, f, folded)));

export const foldBatchNormRules: readonly RewriteRule[] = rulesRecording();

/** |t| element by element (the bound does not matter to the caller). */
const absolute = (t: RefTensor): RefTensor => ({ shape: t.shape, value: t.value.map(Math.abs), bound: new Float64Array(t.value.length) });

/**
 * The allowance (file comment) as a widening of the rewritten graph's bounds: u sum |x| |w'| at a
 * product with folded weights (the product's reference on |x| and |w'|), u |b'| at the bias_add of a
 * folded bias. Non-finite values stay exact (bound 0).
 */
function roundingAllowance({ products, biases }: Folded): BoundAllowance {
  return (node, inputs, out) => {
    let extra: (i: number) => number;
    if (products.has(node.name)) {
      const abs = opSpec(node.op).reference(inputs.map(absolute), node.attrs, out.shape).value;
      extra = (i) => abs[i];
    } else if (biases.has(node.name)) {
      const b = inputs[1].value;
      extra = (i) => Math.abs(b[i % b.length]);
    } else return;
    for (let i = 0; i < out.value.length; i++) if (Number.isFinite(out.value[i])) out.bound[i] += U32 * extra(i);
  };
}

// The allowance of each graph this pass returned, for `allowance` (the conformance suite's hook).
const allowances = new WeakMap<Graph, BoundAllowance>();

export const foldBatchNorm: Pass & Required<Pick<GraphAllowance, 'allowance'>> = {
  name: 'fold-batch-norm',
  exact: true,
  description:
    'folds a batch_norm with constant statistics into the preceding conv2d / depthwise_conv2d / matmul with constant weights (scaled weights + bias_add)',
  run(graph: Graph): PassResult {
    const folded: Folded = { products: new Set(), biases: new Set() };
    const r = applyRules(graph, rulesRecording(folded));
    const allowance = roundingAllowance(folded);
    allowances.set(r.graph, allowance);
    const notes = r.rewritten ? ['constants folded in float64 and rounded once: allowance u (sum |x| |w\'| + |b\'|) per output (docs/SEMANTICS.md)'] : [];
    const report = makeReport(foldBatchNorm, graph, r.graph, { matched: r.matched, rewritten: r.rewritten, changes: r.changes, skipped: r.skipped, notes });
    return { graph: r.graph, report, ...(r.rewritten ? { allowance } : {}) };
  },
  /** Per output element, how much the allowance widens the rewritten graph's bound (0 for a graph this pass did not return). */
  allowance(_original, rewritten, feeds) {
    const widen = allowances.get(rewritten);
    if (!widen) return {};
    const plain = evaluate(rewritten, feeds);
    const wide = evaluate(rewritten, feeds, { widen });
    return Object.fromEntries(Object.entries(plain).map(([k, p]) => [k, wide[k].bound.map((b, i) => Math.max(0, b - p.bound[i]))]));
  },
};

/** The conformance suite's allowance hook (its GraphTransform's), restated here so passes need no dependency on it. */
interface GraphAllowance {
  allowance(original: Graph, rewritten: Graph, feeds: Readonly<Record<string, Float32Array>>): Readonly<Record<string, ArrayLike<number>>>;
}
