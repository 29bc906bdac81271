import { describe, expect, it } from 'vitest';
import { GraphBuilder, evaluate, randomTensor } from '@tessera/core';
import { any, applyRules, compareResults, constant, convFusion, named, op, randomFeeds, type RewriteRule } from '../src/index.js';
import { convChain, ops } from './helpers.js';

describe('pattern-matching rewrites', () => {
  const fuse: RewriteRule = {
    name: 'conv+bias+relu',
    pattern: op('relu', op('bias_add', op('conv2d', any('x'), constant('w')), constant('b'))),
    replace: (m, emit) => emit.node('fused_conv2d', [m.values.x, m.values.w, m.values.b], { ...m.nodes.conv2d.attrs, activation: 'relu' }, m.nodes.conv2d.name),
  };

  it('a rule written as a table entry rewrites a chain and keeps the conv name', () => {
    const g = convChain();
    const r = applyRules(g, [fuse]);
    expect(ops(r.graph)).toEqual(['fused_conv2d']);
    expect(r.graph.nodes[0].name).toBe('conv');
    expect(r.graph.outputs).toEqual({ y: 'conv' });
    expect(r.matched).toBe(1);
    expect(r.rewritten).toBe(1);
    expect(r.changes[0]).toContain("relu 'relu'");
    const feeds = randomFeeds(g, 1);
    expect(compareResults(evaluate(g, feeds), evaluate(r.graph, feeds)).ok).toBe(true);
  });

  it('does not fire where an intermediate has a second consumer, and says why', () => {
    const g = convChain((b, v) => ({ pooled: b.maxpool(v.conv, { ksize: [2, 2], strides: [2, 2], padding: 'VALID' }) }));
    const r = applyRules(g, [fuse]);
    expect(r.rewritten).toBe(0);
    expect(r.graph).toBe(g);
    expect(r.skipped).toEqual([expect.stringContaining("'conv' has another consumer")]);
  });

  it('does not fire where an intermediate is a graph output', () => {
    const g = convChain((_, v) => ({ pre: v.bias }));
    const r = applyRules(g, [fuse]);
    expect(r.rewritten).toBe(0);
    expect(r.skipped).toEqual([expect.stringContaining("'bias' is a graph output")]);
  });

  it('fires on a shared intermediate when the rule allows it, keeping the intermediate for its other consumer', () => {
    const g = convChain((b, v) => ({ pooled: b.maxpool(v.conv, { ksize: [2, 2], strides: [2, 2], padding: 'VALID' }) }));
    const r = applyRules(g, [{ ...fuse, sharedIntermediates: true, replace: (m, e) => e.node('fused_conv2d', [m.values.x, m.values.w, m.values.b], { ...m.nodes.conv2d.attrs, activation: 'relu' }) }]);
    expect(ops(r.graph).sort()).toEqual(['conv2d', 'fused_conv2d', 'maxpool']);
  });

  it('a condition returning a reason declines the match and reports it; false declines silently', () => {
    const g = convChain();
    expect(applyRules(g, [{ ...fuse, condition: () => 'not today' }]).skipped).toEqual(["conv+bias+relu at 'relu': not today"]);
    const silent = applyRules(g, [{ ...fuse, condition: () => false }]);
    expect(silent.skipped).toEqual([]);
    expect(silent.matched).toBe(0);
  });

  it('a capture used twice must bind the same value', () => {
    const b = new GraphBuilder('sq');
    const a = b.input('a', [3, 3]);
    const c = b.input('c', [3, 3]);
    const g = b.build({ aa: b.matmul(a, a, { name: 'aa' }), ac: b.matmul(a, c, { name: 'ac' }) });
    const square: RewriteRule = { name: 'square', pattern: op('matmul', any('m'), any('m')), replace: (m, e) => e.node('matmul', [m.values.m, m.values.m], { transposeB: false }, `${m.root.name}/sq`) };
    const r = applyRules(g, [square], { maxSweeps: 1 });
    expect(r.rewritten).toBe(1);
    expect(r.changes[0]).toContain("'aa'");
  });

  it('the largest pattern wins: conv -> bias -> relu fuses whole, not as conv -> bias plus a relu', () => {
    const r = convFusion.run(convChain(), {});
    expect(ops(r.graph)).toEqual(['fused_conv2d']);
    expect(r.graph.nodes[0].attrs.activation).toBe('relu');
  });

  it('named() labels nodes of the same op apart', () => {
    const b = new GraphBuilder('rr');
    const x = b.input('x', [2, 6]);
    const g = b.build({ y: b.reshape(b.reshape(x, [3, 4], { name: 'first' }), [12], { name: 'second' }) });
    let seen: string[] = [];
    applyRules(g, [
      {
        name: 'see',
        pattern: op('reshape', named('inner', op('reshape', any('x')))),
        replace: (m, e) => {
          seen = [m.nodes.reshape.name, m.nodes.inner.name, m.values.x];
          return e.node('reshape', [m.values.x], { shape: [12] }, m.root.name);
        },
      },
    ], { maxSweeps: 1 });
    expect(seen).toEqual(['second', 'first', 'x']);
  });

  it('rejects a replacement of the wrong shape with a clear error', () => {
    const g = convChain();
    expect(() => applyRules(g, [{ ...fuse, replace: (m) => m.values.x }])).toThrow(/replaced 'relu' \[1,6,6,4\] by 'x' of shape \[1,6,6,3\]/);
  });

  it('is linear: a chain of 4,000 nodes rewrites in one sweep (plus one that finds nothing)', () => {
    const b = new GraphBuilder('long');
    let x = b.input('x', [1, 2, 2, 2]);
    const w = b.constant('w', randomTensor([1, 1, 2, 2], 1));
    const bias = b.constant('b', randomTensor([2], 2));
    for (let i = 0; i < 1000; i++) x = b.relu(b.biasAdd(b.conv2d(x, w, { padding: 'SAME' }), bias));
    x = b.reshape(x, [8]);
    const g = b.build({ y: x });
    expect(g.nodes.length).toBe(3001);
    const r = applyRules(g, [fuse]);
    expect(r.rewritten).toBe(1000);
    expect(r.sweeps).toBe(2);
  });
});
