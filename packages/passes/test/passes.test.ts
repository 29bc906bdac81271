import { describe, expect, it } from 'vitest';
import { GraphBuilder, evaluate, randomTensor, type Graph, type Padding } from '@tessera/core';
import {
  compareResults,
  constantFolding,
  convFusion,
  deadNodeElimination,
  linearComposition,
  lower1x1,
  randomFeeds,
  reshapeFolding,
  type Pass,
} from '../src/index.js';
import { convChain, ops } from './helpers.js';

function expectExact(before: Graph, after: Graph): void {
  for (let s = 1; s <= 3; s++) {
    const feeds = randomFeeds(before, s);
    const c = compareResults(evaluate(before, feeds), evaluate(after, feeds));
    expect(c.ok, JSON.stringify(c.mismatch)).toBe(true);
  }
}

function run(pass: Pass, g: Graph) {
  const r = pass.run(g, {});
  expectExact(g, r.graph);
  return r;
}

describe('dead-node elimination', () => {
  it('removes nodes and constants no output needs, keeps inputs', () => {
    const b = new GraphBuilder('dead');
    const x = b.input('x', [2, 3]);
    b.input('unused', [4]);
    const w = b.constant('w', randomTensor([3, 3], 1));
    const dead = b.relu(b.matmul(x, b.constant('w2', randomTensor([3, 2], 2))), { name: 'dead' });
    void dead;
    const g = b.build({ y: b.matmul(x, w, { name: 'mm' }) });
    const r = run(deadNodeElimination, g);
    expect(ops(r.graph)).toEqual(['matmul']);
    expect([...r.graph.constants.keys()]).toEqual(['w']);
    expect(r.graph.inputs.map((v) => v.name)).toEqual(['x', 'unused']);
    expect(r.report.rewritten).toBe(2);
    expect(r.report.params).toEqual({ before: 15, after: 9 });
  });
});

describe('constant folding', () => {
  it('folds a constant subgraph into a float32 constant of the consumer-facing name', () => {
    const b = new GraphBuilder('cf');
    const x = b.input('x', [1, 2, 2, 3]);
    const col = b.matmul(b.constant('a', randomTensor([3, 2], 1)), b.constant('c', randomTensor([2, 1], 2)), { name: 'col' });
    const bias = b.relu(b.reshape(col, [3], { name: 'flat' }), { name: 'biasvec' });
    const g = b.build({ y: b.biasAdd(x, bias, { name: 'out' }) });
    const r = run(constantFolding, g);
    expect(ops(r.graph)).toEqual(['bias_add']);
    expect([...r.graph.constants.keys()]).toEqual(['biasvec']);
    expect(r.graph.constants.get('biasvec')!.data).toBeInstanceOf(Float32Array);
    expect(r.report.rewritten).toBe(3);
  });

  it('leaves nodes that read an input alone', () => {
    const g = convChain();
    expect(constantFolding.run(g, {}).graph).toBe(g);
  });
});

describe('reshape folding', () => {
  it('folds a reshape of a reshape and removes an identity reshape', () => {
    const b = new GraphBuilder('rs');
    const x = b.input('x', [2, 3, 4]);
    const r1 = b.reshape(x, [6, 4], { name: 'r1' });
    const r2 = b.reshape(r1, [24], { name: 'r2' });
    const r3 = b.reshape(r2, [2, 12], { name: 'r3' });
    const y = b.relu(b.reshape(b.relu(r3, { name: 'act' }), [2, 12], { name: 'same' }), { name: 'y' });
    const g = b.build({ y });
    const r = run(reshapeFolding, g);
    expect(r.graph.toString()).toContain('%r3: [2,12] = reshape(%x)');
    expect(ops(r.graph)).toEqual(['reshape', 'relu', 'relu']);
    expect(r.graph.nodes[2].inputs).toEqual(['act']);
  });

  it('keeps an inner reshape that has another consumer', () => {
    const b = new GraphBuilder('rs2');
    const x = b.input('x', [2, 6]);
    const inner = b.reshape(x, [12], { name: 'inner' });
    const g = b.build({ a: b.reshape(inner, [3, 4], { name: 'outer' }), b: b.relu(inner) });
    const r = run(reshapeFolding, g);
    expect(r.graph.producer('outer')!.inputs).toEqual(['x']);
    expect(r.graph.producer('inner')).toBeDefined();
  });
});

describe('conv fusion', () => {
  it('fuses conv2d -> bias_add -> relu into fused_conv2d named after the conv', () => {
    const r = run(convFusion, convChain());
    expect(r.graph.nodes.map((n) => [n.op, n.name, n.attrs.activation])).toEqual([['fused_conv2d', 'conv', 'relu']]);
  });

  it('fuses conv2d -> bias_add alone when the bias_add is also a graph output', () => {
    const g = convChain((_, v) => ({ pre: v.bias }));
    const r = run(convFusion, g);
    expect(ops(r.graph)).toEqual(['fused_conv2d', 'relu']);
    expect(r.graph.outputs).toEqual({ y: 'relu', pre: 'conv' });
    expect(r.report.skipped).toContain("conv2d+bias_add+relu at 'relu': 'bias' is a graph output");
    expect(r.report.skipped).toContain("fused_conv2d+relu at 'relu': 'conv' is a graph output");
  });

  it('does not fuse where the conv has a second consumer', () => {
    const g = convChain((b, v) => ({ z: b.relu(v.conv, { name: 'other' }) }));
    const r = run(convFusion, g);
    expect(ops(r.graph).sort()).toEqual(['bias_add', 'conv2d', 'relu', 'relu']);
    expect(r.report.rewritten).toBe(0);
    expect(r.report.matched).toBe(2); // the 3-op chain and the 2-op chain both matched, both declined
  });

  it('does not fuse where the conv output is a graph output', () => {
    const g = convChain((_, v) => ({ raw: v.conv }));
    expect(ops(run(convFusion, g).graph)).toEqual(['conv2d', 'bias_add', 'relu']);
  });

  it('fuses matmul -> bias_add (-> relu) into fused_matmul', () => {
    const b = new GraphBuilder('fc');
    const x = b.input('x', [2, 5]);
    const h = b.relu(b.biasAdd(b.matmul(x, b.constant('w1', randomTensor([5, 4], 1)), { name: 'fc1' }), b.constant('b1', randomTensor([4], 2))));
    const y = b.biasAdd(b.matmul(h, b.constant('w2', randomTensor([4, 3], 3)), { name: 'fc2' }), b.constant('b2', randomTensor([3], 4)));
    const r = run(convFusion, b.build({ y }));
    expect(r.graph.nodes.map((n) => [n.op, n.name, n.attrs.activation])).toEqual([
      ['fused_matmul', 'fc1', 'relu'],
      ['fused_matmul', 'fc2', 'none'],
    ]);
  });
});

function oneByOne(opts: { stride?: number; padding?: Padding; fused?: boolean; constFilter?: boolean; hw?: number } = {}): Graph {
  const b = new GraphBuilder('pw');
  const hw = opts.hw ?? 5;
  const x = b.input('x', [2, hw, hw, 3]);
  const w = opts.constFilter === false ? b.input('w', [1, 1, 3, 4]) : b.constant('w', randomTensor([1, 1, 3, 4], 1));
  const attrs = { strides: [opts.stride ?? 1, opts.stride ?? 1] as [number, number], padding: opts.padding ?? 'SAME', name: 'pw' };
  const y = opts.fused ? b.fusedConv2d(x, w, b.constant('b', randomTensor([4], 2)), { ...attrs, activation: 'relu' }) : b.conv2d(x, w, attrs);
  return b.build({ y });
}

describe('1x1 conv -> matmul', () => {
  it('stride 1: reshape -> matmul -> reshape, the matmul keeping the conv name', () => {
    const r = run(lower1x1, oneByOne());
    expect(r.graph.nodes.map((n) => `${n.op}:${n.name}`)).toEqual(['reshape:pw/to_rows', 'matmul:pw', 'reshape:pw/to_nhwc']);
    expect(r.graph.value('pw').shape).toEqual([50, 4]);
    expect(r.report.macs).toEqual({ before: 2 * 25 * 3 * 4, after: 2 * 25 * 3 * 4 });
  });

  it('stride 2 (SAME and VALID, odd and even sizes): a strided slice first', () => {
    for (const padding of ['SAME', 'VALID'] as const)
      for (const hw of [5, 6]) {
        const r = run(lower1x1, oneByOne({ stride: 2, padding, hw }));
        expect(ops(r.graph)).toEqual(['slice', 'reshape', 'matmul', 'reshape']);
      }
  });

  it('the fused form becomes fused_matmul with the bias and relu', () => {
    const r = run(lower1x1, oneByOne({ fused: true, stride: 3 }));
    expect(ops(r.graph)).toEqual(['slice', 'reshape', 'fused_matmul', 'reshape']);
    expect(r.graph.producer('pw')!.attrs.activation).toBe('relu');
  });

  it('explicit zero padding lowers; explicit non-zero padding and non-constant filters do not', () => {
    expect(ops(run(lower1x1, oneByOne({ padding: [[0, 0], [0, 0]] })).graph)).toContain('matmul');
    const padded = lower1x1.run(oneByOne({ padding: [[1, 0], [0, 1]] }), {});
    expect(ops(padded.graph)).toEqual(['conv2d']);
    expect(padded.report.skipped[0]).toMatch(/explicit padding/);
    expect(ops(lower1x1.run(oneByOne({ constFilter: false }), {}).graph)).toEqual(['conv2d']);
  });
});

describe('linear conv composition', () => {
  function pair(opts: { aPadding?: Padding; aBias?: boolean; bBias?: 'bias_add' | 'fused' | 'none'; mid?: number; cout?: number; relu?: boolean; bStride?: number }): Graph {
    const b = new GraphBuilder('pair');
    const x = b.input('x', [1, 6, 6, 3]);
    const mid = opts.mid ?? 8;
    const cout = opts.cout ?? 2;
    let a = b.conv2d(x, b.constant('wA', randomTensor([3, 3, 3, mid], 1, 0.3)), { padding: opts.aPadding ?? 'SAME', name: 'A' });
    if (opts.aBias) a = b.biasAdd(a, b.constant('bA', randomTensor([mid], 2, 0.5)), { name: 'A/bias' });
    if (opts.relu) a = b.relu(a);
    const wB = b.constant('wB', randomTensor([1, 1, mid, cout], 3, 0.3));
    const strides: [number, number] = [opts.bStride ?? 1, opts.bStride ?? 1];
    let y =
      opts.bBias === 'fused'
        ? b.fusedConv2d(a, wB, b.constant('bB', randomTensor([cout], 4, 0.5)), { padding: 'VALID', strides, activation: 'relu', name: 'B' })
        : b.conv2d(a, wB, { padding: 'VALID', strides, name: 'B' });
    if (opts.bBias === 'bias_add') y = b.biasAdd(y, b.constant('bB', randomTensor([cout], 4, 0.5)), { name: 'B/bias' });
    return b.build({ y });
  }

  it('composes conv (SAME padded, with bias) -> 1x1 conv (+ bias) into one fused conv, exactly', () => {
    for (const bBias of ['bias_add', 'fused', 'none'] as const)
      for (const aPadding of ['SAME', 'VALID', [[2, 0], [1, 1]]] as Padding[]) {
        const r = run(linearComposition, pair({ aBias: true, bBias, aPadding }));
        expect(ops(r.graph)).toEqual(['fused_conv2d']);
        expect(r.graph.nodes[0].name).toBe('A');
        expect(r.graph.value('A').shape[3]).toBe(2);
        expect(r.report.macs.after).toBeLessThan(r.report.macs.before);
      }
    const plain = run(linearComposition, pair({}));
    expect(ops(plain.graph)).toEqual(['conv2d']);
  });

  it('does not compose across a relu, a strided 1x1, or where MACs would grow', () => {
    expect(ops(linearComposition.run(pair({ relu: true }), {}).graph)).toEqual(['conv2d', 'relu', 'conv2d']);
    expect(ops(linearComposition.run(pair({ bStride: 2 }), {}).graph)).toEqual(['conv2d', 'conv2d']);
    const wide = linearComposition.run(pair({ mid: 2, cout: 16 }), {});
    expect(ops(wide.graph)).toEqual(['conv2d', 'conv2d']);
    expect(wide.report.skipped[0]).toMatch(/would raise MACs/);
  });
});
