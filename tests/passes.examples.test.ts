import { describe, expect, it } from 'vitest';
import { evaluate, opSpec, prng, refTensor, summarize, Tensor } from '@tessera/core';
import { bottleneckBlock, seedCnn, workload, workloadGraph } from '@tessera/examples';
import { PassManager, bottleneckFactorization, formatReport, randomFeeds, compareResults, reconstructFilter, type FactorizationDetail } from '@tessera/passes';

const pm = new PassManager();

describe('passes on the example graphs', () => {
  it('the seed CNN at O1 has exactly fused_conv2d, maxpool, reshape, fused_matmul', () => {
    const g = seedCnn();
    const r = pm.run(g, { level: 'O1', verify: true });
    expect(r.graph.nodes.map((n) => n.op)).toEqual(['fused_conv2d', 'maxpool', 'reshape', 'fused_matmul']);
    expect(r.graph.nodes.map((n) => n.name)).toEqual(['conv1', 'pool1', 'flatten', 'fc']);
    expect(r.graph.nodes[0].attrs.activation).toBe('relu');
    expect(r.graph.nodes[3].attrs.activation).toBe('none');
    expect(r.verification?.ok).toBe(true);
    expect(summarize(r.graph).totalParams).toBe(summarize(g).totalParams);
    expect(formatReport(r.reports)).toContain('total: nodes 7 -> 4');
  });

  it('the W3 bottleneck block at O2: its first 1x1 conv as a matmul (fused_matmul with reshapes), the 3x3 conv fused, the last 1x1 conv fused with the shortcut add and relu', () => {
    const g = bottleneckBlock();
    const r = pm.run(g, { level: 'O2' });
    expect(r.graph.nodes.map((n) => `${n.op}:${n.name}`)).toEqual([
      'reshape:l0_conv2d/to_rows',
      'fused_matmul:l0_conv2d',
      'reshape:l0_conv2d/to_nhwc',
      'fused_conv2d:l1_conv2d',
      'fused_conv2d:l2_conv2d',
    ]);
    expect(r.graph.producer('l0_conv2d')!.attrs.activation).toBe('relu');
    expect(r.graph.producer('l1_conv2d')!.attrs.activation).toBe('relu');
    expect(r.graph.producer('l2_conv2d')!.attrs.activation).toBe('relu');
    // The residual is the block's input.
    expect(r.graph.producer('l2_conv2d')!.inputs[3]).toBe(g.inputs[0].name);
    expect(r.graph.value('l0_conv2d').shape).toEqual([56 * 56, 64]);
    const s0 = summarize(g);
    const s1 = summarize(r.graph);
    expect([s1.totalMacs, s1.totalParams]).toEqual([s0.totalMacs, s0.totalParams]);
    // Exact: same results within the float32 bound, checked on the same block at 14x14 (same weights) to keep the float64 reference quick.
    const small = workloadGraph({ ...workload('W3'), input: [1, 14, 14, 256] });
    const smallOpt = pm.run(small, { level: 'O2' }).graph;
    expect(smallOpt.nodes.map((n) => n.op)).toEqual(r.graph.nodes.map((n) => n.op));
    const feeds = randomFeeds(small, 7);
    const c = compareResults(evaluate(small, feeds), evaluate(smallOpt, feeds));
    expect(c.ok, JSON.stringify(c.mismatch)).toBe(true);
  });

  it("W2's 3x3 conv with a low-rank-plus-noise filter, factorized at energy 0.95: fewer MACs and an error inside the bound", () => {
    // W = G x_3 A x_4 B with ranks (12, 12) of 64, plus noise of 1% of the entries' scale.
    const base = workloadGraph(workload('W2'));
    const conv = base.nodes[0];
    const name = conv.inputs[1];
    const [k1, k2, c, s] = base.value(name).shape;
    const rand = prng(2024);
    const u = () => rand() * 2 - 1;
    const r = 12;
    const G = Array.from({ length: k1 * k2 * r * r }, u);
    const A = Array.from({ length: c * r }, u);
    const B = Array.from({ length: s * r }, u);
    const data = new Float32Array(k1 * k2 * c * s);
    const scale = 2 / Math.sqrt(k1 * k2 * c) / r;
    for (let p = 0; p < k1 * k2; p++)
      for (let ci = 0; ci < c; ci++)
        for (let o = 0; o < s; o++) {
          let acc = 0;
          for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) acc += G[(p * r + i) * r + j] * A[ci * r + i] * B[o * r + j];
          data[(p * c + ci) * s + o] = acc * scale;
        }
    const rms = Math.sqrt(data.reduce((a, v) => a + v * v, 0) / data.length);
    for (let i = 0; i < data.length; i++) data[i] += 0.01 * rms * u();
    const w = new Tensor([k1, k2, c, s], data);
    const g = base.with({ constants: new Map([[name, w]]) });

    const res = pm.run(g, { level: 'O0', factorize: { energy: 0.95 } });
    const rep = res.reports.find((p) => p.pass === 'factorize')!;
    expect(rep.exact).toBe(false);
    expect(rep.rewritten).toBe(1);
    const d = (rep.details as FactorizationDetail[])[0];
    expect(d.ranks[0]).toBeLessThanOrEqual(r);
    expect(d.ranks[1]).toBeLessThanOrEqual(r);
    expect(d.keptEnergy[0]).toBeGreaterThanOrEqual(0.95);
    expect(d.keptEnergy[1]).toBeGreaterThanOrEqual(0.95);
    expect(rep.macs.after).toBeLessThan(rep.macs.before);
    expect(rep.params.after).toBeLessThan(rep.params.before);
    expect(d.macs).toEqual({ before: rep.macs.before, after: rep.macs.after });
    expect(d.relError).toBeLessThanOrEqual(d.boundRel + d.slackRel);
    // Each mode discards at most 5% of its energy, so the bound is at most sqrt(0.05 + 0.05) of ||W||.
    expect(d.boundRel).toBeLessThanOrEqual(Math.sqrt(2 * (1 - 0.95)));
    console.log(`[W2 factorization] ${rep.changes[0]}`);

    // Output error within conv(|x|, |W - W_hat|) + both float32 bounds, on a 16x16 crop of W2's input (same conv).
    const get = (n: string) => res.graph.constants.get(n)!;
    const approx = reconstructFilter({ reduce: get(`${conv.name}/reduce/filter`), core: get(`${conv.name}/core/filter`), expand: get(`${conv.name}/expand/filter`) });
    const small = g.with({ inputs: [{ ...g.inputs[0], shape: [1, 16, 16, c] }], nodes: [{ ...conv, output: { ...conv.output, shape: [1, 16, 16, s] } }] });
    const smallFact = res.graph.with({
      inputs: [{ ...g.inputs[0], shape: [1, 16, 16, c] }],
      nodes: res.graph.nodes.map((n) => ({ ...n, output: { ...n.output, shape: [1, 16, 16, n.output.shape[3]] } })),
    });
    const feeds = randomFeeds(small, 3);
    const before = evaluate(small, feeds).y;
    const after = evaluate(smallFact, feeds).y;
    const spec = opSpec('conv2d');
    const absX = refTensor([1, 16, 16, c], Float64Array.from(feeds.x, Math.abs));
    const absE = refTensor([k1, k2, c, s], Float64Array.from(data, (v, i) => Math.abs(v - approx[i])));
    const propagated = spec.reference([absX, absE], conv.attrs, [1, 16, 16, s]).value;
    let worst = 0;
    for (let i = 0; i < before.value.length; i++) {
      const allowed = propagated[i] + before.bound[i] + after.bound[i];
      worst = Math.max(worst, Math.abs(after.value[i] - before.value[i]) / allowed);
    }
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('factorization is never part of O1 / O2 by default', () => {
    for (const level of ['O1', 'O2']) expect(pm.pipeline({ level })).not.toContain(bottleneckFactorization.name);
  });
});
