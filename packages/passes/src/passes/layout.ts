import {
  Tensor,
  attrsOf,
  broadcastShapes,
  numel,
  sameShape,
  transposeData,
  transposeIsReshape,
  transpose as transposeSpec,
  transposePerm,
  type Graph,
  type Node,
  type Shape,
} from '@tessera/core';
import { makeReport } from '../report.js';
import { any, applyRules, constant, named, op, type Emitter, type Match, type RewriteRule } from '../rewrite.js';
import type { Pass, PassOptions, PassResult } from '../types.js';

/*
 * Layout: the transposes an NCHW model brings (an ONNX import keeps its NCHW interface with
 * transposes at the boundary) are moved and cancelled until none is left inside the network.
 * Every rule only moves values, so the pass is exact:
 *   - a transpose of a transpose is one transpose of the composed permutation, none when that is
 *     the identity; a transpose that moves only axes of size 1 is a reshape (a view);
 *   - a transpose of a constant is a constant;
 *   - transposes sink below layout-agnostic ops (relu, relu6; add / mul with a scalar or a
 *     constant, permuted to match; add / mul of two values transposed alike; bias_add, softmax and
 *     batch_norm when the last axis stays last), towards the next transpose they cancel with;
 *   - a transpose read by reshape -> matmul with a constant weight (an NCHW Flatten before a dense
 *     layer) becomes a permutation of the weight's rows.
 * Rules only sink (never hoist), so sweeps end; a chain of n sinkable ops takes n sweeps.
 */

/** Sweeps at most (each sinks every transpose by one op): deeper than any network's run of element-wise ops. */
const MAX_SWEEPS = 64;

function permOf(n: Node, g: Graph): number[] {
  return transposePerm(attrsOf(n, transposeSpec).perm, g.value(n.inputs[0]).shape.length);
}

function inverse(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, a) => (inv[p] = a));
  return inv;
}

/** `x` transposed by `perm`: nothing when it moves no element, a reshape when it moves only 1s, else a transpose. */
function emitTranspose(emit: Emitter, x: string, perm: readonly number[], name: string): string {
  const shape = emit.shape(x);
  if (!transposeIsReshape(shape, perm)) return emit.node('transpose', [x], { perm: [...perm] }, name);
  const out = perm.map((p) => shape[p]);
  return sameShape(shape, out) ? x : emit.node('reshape', [x], { shape: out }, name);
}

const transposeOf = (label: string, capture: string) => named(label, op('transpose', any(capture)));

const cancelRules: readonly RewriteRule[] = [
  {
    name: 'fold-transpose-constant',
    pattern: op('transpose', constant('c')),
    replace: (m, emit) => {
      const c = emit.tensor(m.values.c);
      const perm = permOf(m.root, emit.graph);
      return emit.constant(m.root.name, new Tensor(m.root.output.shape, transposeData(c.data, c.shape, perm, new Float32Array(c.size))));
    },
    describe: (m) => `fold-transpose-constant: transpose '${m.root.name}' of constant '${m.values.c}' is now a constant`,
  },
  {
    name: 'compose-transposes',
    pattern: op('transpose', transposeOf('inner', 'x')),
    // The inner transpose stays for its other users: one transpose still replaces one.
    sharedIntermediates: true,
    outputIntermediates: true,
    replace: (m, emit) => {
      const inner = permOf(m.nodes.inner, emit.graph);
      const composed = permOf(m.root, emit.graph).map((q) => inner[q]);
      return emitTranspose(emit, m.values.x, composed, m.root.name);
    },
    describe: (m, result) => `compose-transposes: '${m.nodes.inner.name}' -> '${m.root.name}' is ${result === m.values.x ? `the identity (reads '${m.values.x}')` : `'${result}'`}`,
  },
  {
    name: 'transpose-as-reshape',
    pattern: op('transpose', any('x')),
    condition: (m, g) => transposeIsReshape(g.value(m.values.x).shape, permOf(m.root, g)),
    replace: (m, emit) => emitTranspose(emit, m.values.x, permOf(m.root, emit.graph), m.root.name),
    describe: (m, result) => `transpose-as-reshape: '${m.root.name}' moves no element (${result === m.values.x ? 'removed' : `reshape '${result}'`})`,
  },
];

/** op(transpose(x), rest...) -> transpose(op(x, rest...)): the op keeps its name, the transpose its own. */
function sink(m: Match, emit: Emitter, operands: (x: string) => string[]): string {
  const t = m.nodes.t;
  const perm = permOf(t, emit.graph);
  const y = emit.node(m.root.op, operands(m.values.x), m.root.attrs as Record<string, unknown>, m.root.name);
  return emitTranspose(emit, y, perm, t.name);
}

const describeSink = (m: Match) => `sink-transpose: '${m.nodes.t.name}' moved below ${m.root.op} '${m.root.name}'`;

/** Ops that commute with any transpose (element-wise, one operand). */
const UNARY = ['relu', 'relu6'] as const;

/** Ops that work along the last axis with other operands read whole: they commute with a transpose that keeps the last axis last. */
const LAST_AXIS: readonly { op: string; operands: number }[] = [
  { op: 'bias_add', operands: 2 },
  { op: 'softmax', operands: 1 },
  { op: 'batch_norm', operands: 5 },
];

const keepsLastAxis = (m: Match, g: Graph): boolean => {
  const perm = permOf(m.nodes.t, g);
  return perm.length > 0 && perm[perm.length - 1] === perm.length - 1;
};

/**
 * add / mul of a transposed value and `other`: a scalar (any rank-0 value) or a constant that
 * broadcasts to the transposed shape without enlarging it. The constant is permuted back (its
 * shape led by 1s up to the rank), so it broadcasts against x as it did against transpose(x).
 */
function binaryWithConstant(swap: boolean): RewriteRule {
  const sides = [transposeOf('t', 'x'), any('c')];
  return {
    name: `sink-transpose ${swap ? 'constant (op) transposed' : 'transposed (op) constant'}`,
    pattern: op(['add', 'mul'], ...(swap ? sides.reverse() : sides)),
    condition: (m, g) => {
      const c = g.value(m.values.c).shape;
      if (c.length === 0) return true;
      if (g.kind(m.values.c) !== 'constant') return false;
      const out = m.nodes.t.output.shape;
      if (c.length > out.length) return false;
      try {
        return sameShape(broadcastShapes(out, c), out);
      } catch {
        return false;
      }
    },
    replace: (m, emit) =>
      sink(m, emit, (x) => {
        let c = m.values.c;
        const shape = emit.shape(c);
        if (shape.length > 0) {
          const t = emit.tensor(c);
          const rank = m.nodes.t.output.shape.length;
          const led: Shape = [...new Array<number>(rank - shape.length).fill(1), ...shape];
          const inv = inverse(permOf(m.nodes.t, emit.graph));
          c = emit.constant(`${c}/${m.nodes.t.name}`, new Tensor(inv.map((i) => led[i]), transposeData(t.data, led, inv, new Float32Array(t.size))));
        }
        return swap ? [c, x] : [x, c];
      }),
    describe: describeSink,
  };
}

const sinkRules: readonly RewriteRule[] = [
  ...UNARY.map((u): RewriteRule => ({ name: `sink-transpose ${u}`, pattern: op(u, transposeOf('t', 'x')), replace: (m, e) => sink(m, e, (x) => [x]), describe: describeSink })),
  ...LAST_AXIS.map(
    ({ op: o, operands }): RewriteRule => ({
      name: `sink-transpose ${o}`,
      pattern: op(o, transposeOf('t', 'x'), ...Array.from({ length: operands - 1 }, (_, i) => any(`o${i}`))),
      condition: keepsLastAxis,
      replace: (m, e) => sink(m, e, (x) => [x, ...m.root.inputs.slice(1)]),
      describe: describeSink,
    }),
  ),
  binaryWithConstant(false),
  binaryWithConstant(true),
  {
    name: 'sink-transpose pair',
    pattern: op(['add', 'mul'], transposeOf('t', 'x'), transposeOf('t2', 'y')),
    condition: (m, g) =>
      sameShape(g.value(m.values.x).shape, g.value(m.values.y).shape) && sameShape(permOf(m.nodes.t, g), permOf(m.nodes.t2, g)),
    replace: (m, emit) => sink(m, emit, (x) => [x, m.values.y]),
    describe: (m) => `sink-transpose: '${m.nodes.t.name}' and '${m.nodes.t2.name}' moved below ${m.root.op} '${m.root.name}' as one`,
  },
];

/**
 * matmul(reshape(transpose(x)) to [R, K], W constant): when the transpose leaves the axes that
 * make up the R rows in place, each row is the same permutation of K elements of x's row, so
 * matmul(reshape(x) to [R, K], W with its K rows permuted) gives every output the same sum of the
 * same products in the same order. The NCHW Flatten before a Gemm is the case.
 */
function flattenRule(fused: boolean): RewriteRule {
  return {
    name: `fold-transpose-flatten ${fused ? 'fused_matmul' : 'matmul'}`,
    pattern: op(
      fused ? 'fused_matmul' : 'matmul',
      named('flat', op('reshape', transposeOf('t', 'x'))),
      constant('w'),
      ...(fused ? [any('bias')] : []),
    ),
    condition: (m, g) => {
      if (matmulFlags(m.root).transposeA) return false;
      if (m.nodes.flat.output.shape.length !== 2 || g.value(m.values.w).shape.length !== 2) return false;
      return rowAxes(m, g) !== undefined || `transpose '${m.nodes.t.name}' moves the axes that make up the rows of '${m.nodes.flat.name}'`;
    },
    replace: (m, emit) => {
      const g = emit.graph;
      const p = rowAxes(m, g)!;
      const xShape = g.value(m.values.x).shape;
      const [rows, k] = m.nodes.flat.output.shape;
      // order[j]: the element of x's row that element j of the transposed row is.
      const perm = permOf(m.nodes.t, g).slice(p).map((a) => a - p);
      const order = transposeData(Int32Array.from({ length: k }, (_, i) => i), xShape.slice(p), perm, new Int32Array(k));
      const w = emit.tensor(m.values.w);
      const transposeB = matmulFlags(m.root).transposeB;
      const permuted = new Float32Array(w.size);
      const cols = w.shape[1];
      if (transposeB) {
        for (let r = 0; r < w.shape[0]; r++) for (let j = 0; j < k; j++) permuted[r * k + order[j]] = w.data[r * k + j];
      } else {
        for (let j = 0; j < k; j++) permuted.set(w.data.subarray(j * cols, (j + 1) * cols), order[j] * cols);
      }
      const weights = emit.constant(`${m.values.w}/${m.nodes.t.name}`, new Tensor(w.shape, permuted));
      const flat = emit.node('reshape', [m.values.x], { shape: [rows, k] }, m.nodes.flat.name);
      return emit.node(m.root.op, [flat, weights, ...m.root.inputs.slice(2)], m.root.attrs as Record<string, unknown>, m.root.name);
    },
    describe: (m) => `fold-transpose-flatten: '${m.nodes.t.name}' before '${m.nodes.flat.name}' -> '${m.root.name}' folded into the rows of '${m.values.w}'`,
  };
}

/** matmul's and fused_matmul's transpose flags (the same attributes in both). */
const matmulFlags = (n: Node) => n.attrs as { transposeA?: boolean; transposeB?: boolean };

/**
 * How many leading axes of transpose(x) make up the rows of the flatten (their product is R),
 * if the transpose leaves each of them in place; else undefined.
 */
function rowAxes(m: Match, g: Graph): number | undefined {
  const t = m.nodes.t.output.shape;
  const rows = m.nodes.flat.output.shape[0];
  const perm = permOf(m.nodes.t, g);
  for (let p = 0, prod = 1; p <= t.length && prod <= rows; prod *= t[p++]) {
    if (prod === rows && perm.slice(0, p).every((a, i) => a === i)) return p;
  }
  return undefined;
}

/** Every rule of the pass, in the order they are tried at a node. */
export const layoutRules: readonly RewriteRule[] = [...cancelRules, ...sinkRules, flattenRule(false), flattenRule(true)];

export const layout: Pass = {
  name: 'layout',
  exact: true,
  description: 'cancels transpose pairs, sinks transposes through layout-agnostic ops, folds them into constants and into the weights of a flatten -> matmul',
  run(graph: Graph, _options: PassOptions): PassResult {
    const r = applyRules(graph, layoutRules, { maxSweeps: MAX_SWEEPS });
    return {
      graph: r.graph,
      report: makeReport(layout, graph, r.graph, { matched: r.matched, rewritten: r.rewritten, changes: r.changes, skipped: r.skipped }),
    };
  },
};
