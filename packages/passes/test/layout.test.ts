import { describe, expect, it } from 'vitest';
import { GraphBuilder, Tensor, evaluate, prng, type Graph, type SymbolicValue } from '@tessera/core';
import { PassManager, compareResults, layout, randomFeeds } from '../src/index.js';

const NCHW_TO_NHWC = [0, 2, 3, 1];
const NHWC_TO_NCHW = [0, 3, 1, 2];

function constant(g: GraphBuilder, name: string, shape: number[], seed: number): SymbolicValue {
  const rand = prng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return g.constant(name, new Tensor(shape, Float32Array.from({ length: n }, () => rand() * 2 - 1)));
}

/** Runs the layout pass, checks it kept every output within the float32 bound, returns the new graph and report. */
function runLayout(graph: Graph) {
  const r = layout.run(graph, {});
  const feeds = randomFeeds(graph, 7);
  const c = compareResults(evaluate(graph, feeds), evaluate(r.graph, feeds));
  expect(c.mismatch).toBeUndefined();
  return r;
}

const ops = (g: Graph) => g.nodes.map((n) => n.op);

describe('layout pass', () => {
  it('a transpose and its inverse cancel; two others compose into one transpose of the composed perm', () => {
    const g = new GraphBuilder('pair');
    const x = g.input('x', [2, 3, 4, 5]);
    const back = g.transpose(g.transpose(x, NHWC_TO_NCHW, { name: 'a' }), NCHW_TO_NHWC, { name: 'b' });
    const twice = g.transpose(g.transpose(x, [1, 0, 2, 3], { name: 'c' }), [0, 2, 1, 3], { name: 'd' });
    const r = runLayout(g.build({ back: g.relu(back), twice }));
    expect(ops(r.graph).sort()).toEqual(['relu', 'transpose']);
    // d reads axes [1, 2] of c's output, which are c's [0, 2]: x's axes [1, 2, 0, 3].
    expect(r.graph.nodes.find((n) => n.op === 'transpose')!.attrs.perm).toEqual([1, 2, 0, 3]);
    expect(r.report.changes.some((c) => c.includes("compose-transposes: 'a' -> 'b' is the identity"))).toBe(true);
  });

  it('transposes sink through relu, relu6, add / mul with a scalar or a permuted constant, bias_add keeping the last axis, and cancel', () => {
    const g = new GraphBuilder('sink');
    const x = g.input('x', [1, 3, 4, 5]);
    let y = g.transpose(x, [0, 2, 1, 3]);
    y = g.relu(y);
    y = g.add(y, constant(g, 'k', [4, 1, 5], 1)); // broadcast over the transposed [1, 4, 3, 5]
    y = g.mul(constant(g, 's', [], 2), y);
    y = g.biasAdd(y, constant(g, 'b', [5], 3));
    y = g.relu6(y);
    y = g.transpose(y, [0, 2, 1, 3]);
    const r = runLayout(g.build({ y }));
    expect(ops(r.graph)).toEqual(['relu', 'add', 'mul', 'bias_add', 'relu6']);
    expect(r.report.changes.filter((c) => c.startsWith('sink-transpose')).length).toBe(5);
  });

  it('leaves a transpose whose value is also used elsewhere, and one before bias_add that moves the last axis', () => {
    const g = new GraphBuilder('keep');
    const x = g.input('x', [2, 3, 4, 5]);
    const t = g.transpose(x, NHWC_TO_NCHW);
    const moved = g.biasAdd(g.transpose(x, [0, 1, 3, 2]), constant(g, 'b', [4], 1));
    const r = runLayout(g.build({ a: g.relu(t), t, moved }));
    expect(ops(r.graph).filter((o) => o === 'transpose').length).toBe(2);
    expect(r.report.skipped.some((s) => s.includes('is a graph output'))).toBe(true);
  });

  it('a transpose of a constant becomes a constant; one that moves only axes of size 1 becomes a reshape', () => {
    const g = new GraphBuilder('fold');
    const x = g.input('x', [1, 1, 6, 1]);
    const w = g.transpose(constant(g, 'w', [2, 6], 5), [1, 0]);
    const y = g.matmul(g.reshape(g.transpose(x, [0, 3, 1, 2]), [1, 6]), w);
    const r = runLayout(g.build({ y }));
    expect(ops(r.graph)).not.toContain('transpose');
    expect(r.report.changes.some((c) => c.startsWith('fold-transpose-constant'))).toBe(true);
  });

  it('an NCHW flatten before matmul / fused_matmul (either weight orientation) folds into the weight rows', () => {
    for (const [op, transposeB] of [['matmul', false], ['matmul', true], ['fused_matmul', false]] as const) {
      const g = new GraphBuilder('flatten');
      const x = g.input('x', [2, 3, 4, 5]);
      const flat = g.reshape(g.transpose(x, NHWC_TO_NCHW), [2, -1]);
      const w = constant(g, 'w', transposeB ? [7, 60] : [60, 7], 9);
      const y = op === 'matmul' ? g.matmul(flat, w, { transposeB }) : g.fusedMatmul(flat, w, constant(g, 'bias', [7], 4), { activation: 'relu' });
      const r = runLayout(g.build({ y }));
      expect(ops(r.graph)).toEqual(['reshape', op]);
      expect(r.report.changes.some((c) => c.startsWith('fold-transpose-flatten'))).toBe(true);
    }
  });

  it('a flatten whose rows the transpose reorders is left alone, with the reason', () => {
    const g = new GraphBuilder('rows');
    const x = g.input('x', [2, 3, 4, 5]);
    const y = g.matmul(g.reshape(g.transpose(x, [1, 0, 2, 3]), [3, -1]), constant(g, 'w', [40, 2], 1));
    const r = runLayout(g.build({ y }));
    expect(ops(r.graph)).toContain('transpose');
    expect(r.report.skipped.some((s) => s.includes('moves the axes that make up the rows'))).toBe(true);
  });

  it('is in O1 and O2 before fusion, and passes verify mode', () => {
    const pm = new PassManager();
    for (const level of ['O1', 'O2']) {
      const e = new GraphBuilder('e');
      const pipeline = pm.run(e.build({ y: e.relu(e.input('x', [2])) }), { level }).pipeline;
      expect(pipeline.indexOf('layout')).toBeGreaterThanOrEqual(0);
      expect(pipeline.indexOf('layout')).toBeLessThan(pipeline.indexOf('fuse'));
    }
    const g = new GraphBuilder('v');
    const x = g.input('x', [1, 3, 4, 4]);
    const y = g.transpose(g.relu(g.transpose(x, NCHW_TO_NHWC)), NHWC_TO_NCHW);
    const r = pm.run(g.build({ y }), { level: 'O1', verify: true });
    expect(r.verification?.ok).toBe(true);
    expect(ops(r.graph)).toEqual(['relu']);
  });
});
