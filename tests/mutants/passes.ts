/**
 * Faulty rewrites for the mutation test. Their property: the rewritten graph agrees with the
 * original on the float64 reference (checkTransformCase).
 */
import { Tensor, exactRef, opSpec, type Graph, type Node } from '@tessera/core';
import { bottleneckFactorization, composeRules, foldBatchNormRules, rulePass, type FactorizationDetail, type Match, type RewriteRule } from '@tessera/passes';
import type { GraphTransform } from '@tessera/conformance';

/**
 * 12. conv2d / matmul + bias_add fusion without the single-consumer check: the fused node takes
 * the conv's name, so the conv's other consumers (and a graph output naming it) now read the
 * biased result.
 */
export const fusionIgnoresConsumers: GraphTransform = {
  name: 'fuse-ignoring-consumers',
  run(graph: Graph) {
    const removed = new Set<string>();
    const renamed = new Map<string, string>();
    const fused: Node[] = [];
    for (const b of graph.nodes) {
      if (b.op !== 'bias_add') continue;
      const c = graph.producer(b.inputs[0]);
      if (!c || (c.op !== 'conv2d' && c.op !== 'matmul') || removed.has(c.name)) continue;
      removed.add(c.name).add(b.name);
      renamed.set(b.name, c.name);
      const op = c.op === 'conv2d' ? 'fused_conv2d' : 'fused_matmul';
      fused.push({ name: c.name, op, attrs: { ...c.attrs, activation: 'none' }, inputs: [...c.inputs, b.inputs[1]], output: { ...b.output, name: c.name } });
    }
    if (fused.length === 0) return { graph };
    const rename = (v: string) => renamed.get(v) ?? v;
    const nodes = [...graph.nodes.filter((n) => !removed.has(n.name)), ...fused].map((n) => ({ ...n, inputs: n.inputs.map(rename) }));
    const outputs = Object.fromEntries(Object.entries(graph.outputs).map(([k, v]) => [k, rename(v)]));
    return { graph: graph.with({ nodes, outputs }) };
  },
};

/** Options that make the factorization apply to every KxK conv with a constant filter, at full rank. */
export const FULL_RANK_FACTORIZE = { factorize: { ranks: [64, 64] as [number, number], requireSavings: false } };

/**
 * The error the factorization states, for a one-conv graph: conv(|x|, |W - W_hat|), with W_hat
 * rebuilt from the three stored factors (reduce 1x1, KxK core, expand 1x1). At full rank W_hat
 * differs from W only by the float32 storage of the factors, but that is still far beyond the
 * float32 bound of an output whose products all vanish. Multi-node graphs get no allowance.
 */
function factorizationAllowance(original: Graph, rewritten: Graph, feeds: Readonly<Record<string, Float32Array>>): Record<string, Float64Array> {
  if (original.nodes.length !== 1) return {};
  const conv = original.nodes[0];
  const w = original.constants.get(conv.inputs[1]);
  const [R, C, E] = ['reduce', 'core', 'expand'].map((part) => rewritten.constants.get(`${conv.name}/${part}/filter`));
  if (!w || !R || !C || !E) return {};
  const [kh, kw, cin, cout] = w.shape;
  const [r1, r2] = [R.shape[3], E.shape[2]];
  const dw = new Float64Array(w.size);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let ci = 0; ci < cin; ci++)
        for (let co = 0; co < cout; co++) {
          let v = 0;
          for (let a = 0; a < r1; a++) for (let b = 0; b < r2; b++) v += R.data[ci * r1 + a] * C.data[((y * kw + x) * r1 + a) * r2 + b] * E.data[b * cout + co];
          const i = ((y * kw + x) * cin + ci) * cout + co;
          dw[i] = Math.abs(w.data[i] - v);
        }
  const xName = conv.inputs[0];
  const xData = feeds[xName] ?? original.constants.get(xName)!.data;
  const absX = exactRef(original.value(xName).shape, Float64Array.from(xData, Math.abs));
  const { strides, padding, dilations } = conv.attrs as Record<string, unknown>;
  const err = opSpec('conv2d').reference([absX, exactRef(w.shape, dw)], { strides, padding, dilations }, conv.output.shape);
  const out = Object.keys(original.outputs)[0];
  // The error bound's own float64 rounding: one ulp-sized slack per element.
  return { [out]: err.value.map((v) => v * (1 + 1e-12)) };
}

/** The real factorization pass with its stated error (the control run: it must pass). */
export const factorize: GraphTransform = {
  name: bottleneckFactorization.name,
  run: (graph, options) => bottleneckFactorization.run(graph, options),
  allowance: factorizationAllowance,
};

/** 13. The bottleneck factorization, with the original bias dropped from its last 1x1 conv. */
export const factorizationDropsBias: GraphTransform = {
  name: 'factorize-dropping-bias',
  allowance: factorizationAllowance,
  run(graph: Graph, options: Record<string, unknown>) {
    const r = bottleneckFactorization.run(graph, options);
    const factorized = new Set(detailsOf(r.report.details).map((d) => d.node));
    const g = r.graph;
    const constants = new Map(g.constants);
    const nodes = g.nodes.map((n) => {
      if (n.op !== 'fused_conv2d' || !factorized.has(n.name)) return n;
      const zeros = `${n.name}/expand/no_bias`;
      constants.set(zeros, new Tensor(g.value(n.inputs[2]).shape));
      return { ...n, inputs: [n.inputs[0], n.inputs[1], zeros] };
    });
    return { graph: g.with({ nodes, constants }) };
  },
};

function detailsOf(d: unknown): FactorizationDetail[] {
  if (Array.isArray(d)) return d as FactorizationDetail[];
  const inner = (d as { details?: unknown })?.details;
  return Array.isArray(inner) ? (inner as FactorizationDetail[]) : [];
}

/** A match with the first conv's activation switched off: what a condition that forgot it sees. */
function reluForgotten(m: Match): Match {
  const A = m.nodes.A;
  if (A?.op !== 'fused_conv2d' || A.attrs.activation === 'none') return m;
  return { ...m, nodes: { ...m.nodes, A: { ...A, attrs: { ...A.attrs, activation: 'none' } } } };
}

/**
 * 14 (g). Linear composition of a 1x1 conv into a preceding fused_conv2d that has an activation
 * (the relu in between is dropped: the composed conv is no longer the same function).
 */
export const composeIgnoresRelu: GraphTransform = rulePass(
  'compose-ignoring-relu',
  'compose without the relu check',
  composeRules.map((r): RewriteRule => ({ ...r, condition: r.condition && ((m, g) => r.condition!(reluForgotten(m), g)) })),
);

/** A match whose batch norm has (almost) no epsilon: what a fold that forgot it computes. */
function epsilonForgotten(m: Match): Match {
  const bn = m.nodes.bn;
  return { ...m, nodes: { ...m.nodes, bn: { ...bn, attrs: { ...bn.attrs, epsilon: 2 ** -126 } } } };
}

/** 15. Batch-norm folding with s = scale / sqrt(variance): epsilon left out of the folded weights and bias. */
export const foldBatchNormIgnoresEpsilon: GraphTransform = rulePass(
  'fold-batch-norm-ignoring-epsilon',
  'batch-norm folding without epsilon',
  foldBatchNormRules.map((r): RewriteRule => ({ ...r, replace: (m, emit) => r.replace(epsilonForgotten(m), emit) })),
);
