import { OPS, summarize, type Conv2dAttrs, type Graph, type MeanAttrs, type Node, type OpName } from '@tessera/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GRAPH_OPS, GRAPH_OPS_EXCLUDED, graphArbitrary, type ConformanceCase } from '../src/index.js';
import { checkWellFormed } from './well-formed.js';

const SAMPLES = 200;
/** Graphs the coverage tests look through. */
const COVERAGE_GRAPHS = 300;

const sample = (arb: fc.Arbitrary<ConformanceCase>, numRuns = COVERAGE_GRAPHS) => fc.sample(arb, { numRuns, seed: 20240601 });

/** The data of a constant or input operand. */
const dataOf = (c: ConformanceCase, name: string): Float32Array | undefined => c.feeds[name] ?? c.graph.constants.get(name)?.data;

const producerOp = (g: Graph, value: string): string | undefined => g.producer(value)?.op;

/** Every value `value` is computed from (itself excluded). */
function ancestors(g: Graph, value: string, into = new Set<string>()): Set<string> {
  for (const v of g.producer(value)?.inputs ?? []) {
    if (into.has(v)) continue;
    into.add(v);
    ancestors(g, v, into);
  }
  return into;
}

/** The structures of a graph the tests want to see: how values are shared and combined. */
function sharingFeatures(g: Graph, n: Node): string[] {
  const out: string[] = [];
  if (g.consumers(n.name).length > 1) out.push('two-consumers');
  if (g.consumers(n.name).length > 0 && g.isOutput(n.name)) out.push('intermediate-output');
  if (n.op.includes('matmul') && producerOp(g, n.inputs[0]) === 'reshape' && g.value(n.inputs[0]).shape.length === 2) out.push('flatten-matmul');
  if (n.op.includes('matmul') && g.kind(n.inputs[1]) === 'node') out.push('matmul-of-computed');
  if (n.op.includes('conv2d') && g.kind(n.inputs[1]) === 'input') out.push('filter-input');
  const computed = n.inputs.every((v) => g.kind(v) === 'node') && new Set(n.inputs).size > 1;
  if ((n.op === 'add' || n.op === 'mul' || n.op === 'concat') && computed) out.push(`${n.op}-of-computed`);
  if (n.op === 'add' && computed) {
    const [a, b] = n.inputs;
    // A residual add reads a value and something computed from it; branches are computed apart.
    out.push(ancestors(g, a).has(b) || ancestors(g, b).has(a) ? 'add-residual' : 'add-of-branches');
  }
  if (n.op === 'mul' && n.inputs.some((v) => g.value(v).shape.length === 1 && g.value(v).shape[0] === g.value(n.name).shape.at(-1)! && g.kind(v) !== 'node')) out.push('mul-per-channel');
  return out;
}

/** The CNN patterns and attribute ranges of the newer ops in a graph's node. */
function cnnFeatures(c: ConformanceCase, n: Node): string[] {
  const g = c.graph;
  const out: string[] = [];
  const from = producerOp(g, n.inputs[0]);
  if (n.op === 'relu6' && from === 'batch_norm' && producerOp(g, g.producer(n.inputs[0])!.inputs[0]) === 'depthwise_conv2d') out.push('depthwise-batch_norm-relu6');
  if (['conv2d', 'depthwise_conv2d', 'maxpool', 'avg_pool'].includes(n.op) && from === 'pad') out.push('pad-before-window');
  if (n.op === 'avg_pool' || n.op.includes('depthwise')) {
    const { padding, strides, dilations } = n.attrs as Conv2dAttrs;
    out.push(`${n.op}:${typeof padding === 'string' ? padding : 'explicit'}`);
    if (strides.some((s) => s > 1)) out.push(`${n.op}:strided`);
    if (dilations?.some((d) => d > 1)) out.push(`${n.op}:dilated`);
  }
  if (n.op.includes('depthwise')) out.push(`${n.op}:multiplier-${g.value(n.inputs[1]).shape[3]}`);
  if (n.op === 'mean' && g.value(n.inputs[0]).shape.length === 4) {
    const { keepdims } = n.attrs as MeanAttrs;
    out.push(`global-mean:${keepdims ? 'keepdims' : 'dropdims'}`);
    if (g.consumers(n.name).some((m) => m.op.includes('matmul'))) out.push('global-mean-matmul');
  }
  if (n.op === 'softmax') out.push(g.consumers(n.name).length > 0 ? 'softmax-middle' : 'softmax-end');
  if (n.op === 'batch_norm' && dataOf(c, n.inputs[2])!.some((v) => v > 0 && v < 1e-3)) out.push('batch_norm:tiny-variance');
  if (n.op === 'batch_norm' && dataOf(c, n.inputs[2])!.every((v) => v > 0)) out.push('batch_norm:positive-variances');
  return out;
}

function featuresOf(c: ConformanceCase): Set<string> {
  const seen = new Set<string>();
  for (const n of c.graph.nodes) for (const k of [n.op, ...sharingFeatures(c.graph, n), ...cnnFeatures(c, n)]) seen.add(k);
  if (Object.keys(c.graph.outputs).length > 1) seen.add('several-outputs');
  return seen;
}

const countFeatures = (cases: readonly ConformanceCase[]): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const c of cases) for (const k of featuresOf(c)) counts.set(k, (counts.get(k) ?? 0) + 1);
  return counts;
};

describe('GRAPH_OPS', () => {
  it('lists every op of the op table but those excluded, each exclusion with a reason', () => {
    const excluded = Object.keys(GRAPH_OPS_EXCLUDED);
    expect([...GRAPH_OPS, ...excluded].sort()).toEqual(Object.keys(OPS).sort());
    expect(new Set(GRAPH_OPS).size).toBe(GRAPH_OPS.length);
    for (const reason of Object.values(GRAPH_OPS_EXCLUDED)) expect(reason!.length).toBeGreaterThan(10);
  });
});

describe('graphArbitrary', () => {
  it(`yields graphs of 1..12 ops that verify, with a finite reference and under 2e5 MACs (${SAMPLES} samples)`, () => {
    fc.assert(
      fc.property(graphArbitrary(), (c) => {
        expect(c.graph.nodes.length).toBeGreaterThanOrEqual(1);
        expect(c.graph.nodes.length).toBeLessThanOrEqual(12);
        expect(summarize(c.graph).totalMacs).toBeLessThan(2e5);
        checkWellFormed(c);
      }),
      { numRuns: SAMPLES, seed: 2 },
    );
  });

  it('honours minOps / maxOps', () => {
    for (const c of fc.sample(graphArbitrary({ minOps: 3, maxOps: 4 }), { numRuns: 50, seed: 3 })) {
      expect(c.graph.nodes.length).toBeGreaterThanOrEqual(3);
      expect(c.graph.nodes.length).toBeLessThanOrEqual(4);
    }
  });

  it(`reaches every op of GRAPH_OPS and none excluded in ${COVERAGE_GRAPHS} graphs`, () => {
    const counts = countFeatures(sample(graphArbitrary()));
    for (const op of GRAPH_OPS) expect(counts.get(op) ?? 0, op).toBeGreaterThan(0);
    for (const op of Object.keys(GRAPH_OPS_EXCLUDED)) expect(counts.get(op) ?? 0, op).toBe(0);
  });

  it('shares values: two consumers, intermediates that are outputs, several outputs, flatten + matmul tails, matmuls, residual adds, branches, products and concats of computed values', () => {
    const counts = countFeatures(sample(graphArbitrary()));
    const want = ['two-consumers', 'intermediate-output', 'several-outputs', 'flatten-matmul', 'matmul-of-computed', 'filter-input'];
    for (const k of [...want, 'add-of-computed', 'add-residual', 'add-of-branches', 'mul-of-computed', 'mul-per-channel', 'concat-of-computed']) {
      expect(counts.get(k) ?? 0, k).toBeGreaterThan(0);
    }
  });

  it('combines the CNN ops: depthwise + batch_norm + relu6, pad before a conv or pool, a global mean (kept dims or not) before a matmul head, softmax at the end and in the middle', () => {
    const counts = countFeatures(sample(graphArbitrary()));
    const patterns = ['depthwise-batch_norm-relu6', 'pad-before-window', 'global-mean:keepdims', 'global-mean:dropdims', 'global-mean-matmul', 'softmax-end', 'softmax-middle'];
    const ranges = [
      ...['SAME', 'VALID'].map((p) => `avg_pool:${p}`),
      ...['SAME', 'VALID', 'explicit', 'strided', 'dilated', 'multiplier-1', 'multiplier-2', 'multiplier-3'].map((k) => `depthwise_conv2d:${k}`),
      'batch_norm:tiny-variance',
    ];
    for (const k of [...patterns, ...ranges]) expect(counts.get(k) ?? 0, k).toBeGreaterThan(0);
    // Variances are positive in every batch_norm.
    expect(counts.get('batch_norm:positive-variances')).toBe(counts.get('batch_norm'));
  });

  it('draws the fused ops with every activation, in graphs that verify with a finite reference', () => {
    const cases = sample(graphArbitrary());
    for (const op of ['fused_conv2d', 'fused_matmul']) {
      const drawn = new Set(cases.flatMap((c) => c.graph.nodes.filter((n) => n.op === op).map((n) => n.attrs.activation)));
      expect([...drawn].sort(), op).toEqual(['none', 'relu', 'relu6']);
    }
    const activations = new Set(cases.flatMap((c) => c.graph.nodes.filter((n) => n.op === 'fused_depthwise_conv2d').map((n) => n.attrs.activation)));
    expect([...activations].sort()).toEqual(['none', 'relu', 'relu6']);
    for (const c of cases.filter((c) => c.graph.nodes.some((n) => n.op === 'fused_depthwise_conv2d')).slice(0, 50)) checkWellFormed(c);
  });
});
