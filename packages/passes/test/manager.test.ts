import { describe, expect, it } from 'vitest';
import { Graph } from '@tessera/core';
import {
  PASSES,
  PIPELINES,
  PassManager,
  createPassContainer,
  defaultPassContainer,
  formatReport,
  makeReport,
  registerPass,
  registeredPasses,
  type Pass,
} from '../src/index.js';
import { convChain, ops } from './helpers.js';

/** A deliberately wrong "exact" pass: drops every relu. */
const dropRelu: Pass = {
  name: 'drop-relu',
  exact: true,
  run(graph) {
    const relus = graph.nodes.filter((n) => n.op === 'relu');
    if (relus.length === 0) return { graph, report: makeReport(dropRelu, graph, graph, { matched: 0, rewritten: 0 }) };
    const map = new Map(relus.map((n) => [n.name, n.inputs[0]]));
    const nodes = graph.nodes.filter((n) => n.op !== 'relu').map((n) => ({ ...n, inputs: n.inputs.map((i) => map.get(i) ?? i) }));
    const outputs = Object.fromEntries(Object.entries(graph.outputs).map(([k, v]) => [k, map.get(v) ?? v]));
    const after = graph.with({ nodes, outputs });
    return { graph: after, report: makeReport(dropRelu, graph, after, { matched: relus.length, rewritten: relus.length }) };
  },
};

describe('PassManager', () => {
  it('has the named pipelines O0 (nothing), O1, O2; factorization only when asked', () => {
    const pm = new PassManager();
    expect(pm.pipeline({ level: 'O0' })).toEqual([]);
    expect(pm.pipeline({ level: 'O1' })).toEqual([...PIPELINES.O1]);
    expect(pm.pipeline({ level: 'O2' })).toEqual([...PIPELINES.O2]);
    expect(pm.pipeline({ level: 'O1' })).not.toContain('lower-1x1');
    // Folding comes before fusion, so a folded batch norm's bias_add fuses in the same pipeline.
    expect(pm.pipeline({ level: 'O1' }).indexOf('fold-batch-norm')).toBeLessThan(pm.pipeline({ level: 'O1' }).indexOf('fuse'));
    for (const level of ['O0', 'O1', 'O2']) expect(pm.pipeline({ level })).not.toContain('factorize');
    expect(pm.pipeline({ level: 'O2', factorize: { energy: 0.9 } })).toEqual([
      'dce', 'constant-fold', 'layout', 'reshape-fold', 'fold-batch-norm', 'fold-pad', 'compose', 'fuse', 'factorize', 'fuse', 'lower-1x1', 'reshape-fold', 'dce',
    ]);
    expect(pm.pipeline({ level: 'O0', factorize: { energy: 0.9 } })).toEqual(['factorize']);
    expect(() => pm.pipeline({ level: 'O3' })).toThrow(/unknown pipeline 'O3' \(known: O0, O1, O2\)/);
  });

  it('O0 returns the graph unchanged; O1 fuses and reports per pass', () => {
    const g = convChain();
    const pm = new PassManager();
    expect(pm.run(g, { level: 'O0' }).graph).toBe(g);
    const r = pm.run(g, { level: 'O1' });
    expect(ops(r.graph)).toEqual(['fused_conv2d']);
    expect(r.reports.map((p) => p.pass)).toEqual([...PIPELINES.O1]);
    const fuse = r.reports.find((p) => p.pass === 'fuse')!;
    expect(fuse).toMatchObject({ matched: 1, rewritten: 1, nodes: { before: 3, after: 1 }, exact: true });
    expect(fuse.params).toEqual({ before: 3 * 3 * 3 * 4 + 4, after: 3 * 3 * 3 * 4 + 4 });
    expect(fuse.timeMs).toBeGreaterThanOrEqual(0);
  });

  it('passes live in an inversify container: users register their own and run them by name', () => {
    const container = createPassContainer();
    registerPass(container, dropRelu);
    expect(container.getAll<Pass>(PASSES).map((p) => p.name)).toContain('drop-relu');
    const pm = new PassManager(container);
    const r = pm.run(convChain(), { passes: ['drop-relu', 'fuse'] });
    expect(ops(r.graph)).toEqual(['fused_conv2d']);
    expect(r.graph.nodes[0].attrs.activation).toBe('none');
    // Registering a name again replaces the pass.
    registerPass(container, { ...dropRelu, description: 'v2' });
    expect([...registeredPasses(container).values()].filter((p) => p.name === 'drop-relu').map((p) => p.description)).toEqual(['v2']);
    expect(registeredPasses(defaultPassContainer).has('drop-relu')).toBe(false);
    pm.definePipeline('mine', ['drop-relu']);
    expect(pm.pipeline({ level: 'mine' })).toEqual(['drop-relu']);
    expect(() => pm.run(convChain(), { passes: ['nope'] })).toThrow(/unknown pass 'nope'/);
  });

  it('verify mode names the first pass that changed results', () => {
    const container = createPassContainer();
    registerPass(container, dropRelu);
    const pm = new PassManager(container);
    const r = pm.run(convChain(), { passes: ['dce', 'drop-relu', 'fuse'], verify: { seed: 5, samples: 2 } });
    expect(r.verification?.ok).toBe(false);
    expect(r.verification?.firstMismatch?.pass).toBe('drop-relu');
    expect(r.reports[0].verification).toMatchObject({ compared: true, ok: true });
    expect(r.reports[1].verification?.ok).toBe(false);
    expect(r.reports[2].verification?.ok).toBe(true);
    expect(formatReport(r.reports)).toMatch(/VERIFY FAILED: output 'y'\[\d+\]/);
    const ok = new PassManager().run(convChain(), { level: 'O2', verify: true });
    expect(ok.verification).toMatchObject({ ok: true });
  });

  it('checks what a pass returns: a Graph with the same inputs and outputs', () => {
    const container = createPassContainer();
    registerPass(container, { name: 'bad', exact: true, run: (g) => ({ graph: { nodes: [] } as unknown as Graph, report: makeReport({ name: 'bad', exact: true }, g, g, { matched: 0, rewritten: 0 }) }) });
    registerPass(container, {
      name: 'rename-output',
      exact: true,
      run: (g) => {
        const after = g.with({ outputs: { other: Object.values(g.outputs)[0] } });
        return { graph: after, report: makeReport({ name: 'x', exact: true }, g, after, { matched: 0, rewritten: 0 }) };
      },
    });
    registerPass(container, { name: 'throws', exact: true, run: () => { throw new Error('boom'); } });
    const pm = new PassManager(container);
    expect(() => pm.run(convChain(), { passes: ['bad'] })).toThrow(/pass 'bad' did not return a Graph/);
    expect(() => pm.run(convChain(), { passes: ['rename-output'] })).toThrow(/pass 'rename-output' changed the graph's interface/);
    expect(() => pm.run(convChain(), { passes: ['throws'] })).toThrow(/pass 'throws': boom/);
    expect(() => registerPass(container, { name: '', exact: true } as unknown as Pass)).toThrow(/needs a non-empty name/);
  });

  it('formatReport prints a table with totals and each pass\'s changes', () => {
    const r = new PassManager().run(convChain((_, v) => ({ pre: v.bias })), { level: 'O1', verify: true });
    const text = formatReport(r.reports);
    expect(text).toMatch(/pass\s+kind\s+matched\s+rewritten\s+nodes\s+params\s+MACs\s+ms\s+verified/);
    expect(text).toMatch(/fuse\s+exact\s+\d+\s+1\s+3 -> 2/);
    expect(text).toContain('total: nodes 3 -> 2');
    expect(text).toContain("conv2d+bias_add: conv2d 'conv' -> bias_add 'bias'  =>  fused_conv2d 'conv'");
    expect(text).toContain("(skipped) conv2d+bias_add+relu at 'relu': 'bias' is a graph output");
  });
});
