import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, Tensor, U32, evaluate, prng, randomTensor, type Padding } from '@tessera/core';
import {
  PassManager,
  bottleneckFactorization,
  factorError,
  rankForEnergy,
  reconstructFilter,
  tucker2,
  tuckerFilters,
  type FactorizationDetail,
} from '../src/index.js';
import { testSeed } from './arbitrary.js';
import { convRef, lowRankFilter } from './factor-helpers.js';

/*
 * Derived bounds used here (see tucker.ts for the storage slack):
 * - filter: ||W - W_hat32||_F <= sqrt(discarded3 + discarded4) + slackRel * ||W||_F.
 * - outputs, truncated: conv is linear in W, so per element
 *     |after - before| <= conv(|x|, |W - W_hat32|) + boundBefore + boundAfter,
 *   where the bounds are the reference's float32 bounds of the two graphs (bias and relu add nothing:
 *   the same float32 bias is added to both, relu is 1-Lipschitz).
 * - outputs, full rank: the discarded values are 0, and by Cauchy-Schwarz per output
 *     |conv(x, E)| <= ||x patch||_2 * ||E||_F <= ||x patch||_2 * slackRel * ||W||_F.
 */

const seed = testSeed('factorization property tests');
const numRuns = Number(process.env.TESSERA_RUNS ?? 60);

const caseArb = fc.record({
  k: fc.constantFrom<[number, number]>([3, 3], [2, 2], [3, 1], [1, 3], [5, 5]),
  c: fc.integer({ min: 1, max: 9 }),
  s: fc.integer({ min: 1, max: 9 }),
  trueRanks: fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 })),
  noise: fc.constantFrom(0, 1e-3, 0.05, 1),
  ranks: fc.tuple(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 10 })),
  energy: fc.constantFrom(0.5, 0.8, 0.95, 0.99, 1),
  useEnergy: fc.boolean(),
  seed: fc.nat(),
});

describe('Tucker-2 (truncated HOSVD) of a filter', () => {
  it('at full rank the stored factors reproduce the filter within the float32 storage slack', () => {
    fc.assert(
      fc.property(caseArb, (p) => {
        const w = lowRankFilter([p.k[0], p.k[1], p.c, p.s], [Math.min(p.trueRanks[0], p.c), Math.min(p.trueRanks[1], p.s)], p.noise, prng(p.seed));
        const t = tucker2(w, { ranks: [p.c, p.s] });
        expect(t.discarded).toEqual([0, 0]);
        const e = factorError(w.data, t, reconstructFilter(tuckerFilters(t)));
        expect(e.boundRel).toBe(0);
        expect(e.eigenSlackRel).toBe(0);
        expect(e.relError).toBeLessThanOrEqual(e.storageSlackRel);
      }),
      { seed, numRuns },
    );
  });

  it('truncated, the measured filter error never exceeds the HOSVD bound (+ storage slack)', () => {
    fc.assert(
      fc.property(caseArb, (p) => {
        const w = lowRankFilter([p.k[0], p.k[1], p.c, p.s], [Math.min(p.trueRanks[0], p.c), Math.min(p.trueRanks[1], p.s)], p.noise, prng(p.seed));
        const t = tucker2(w, p.useEnergy ? { energy: p.energy } : { ranks: p.ranks });
        const e = factorError(w.data, t, reconstructFilter(tuckerFilters(t)));
        expect(e.relError).toBeLessThanOrEqual(e.boundRel + e.slackRel);
        // In exact (float64) arithmetic, before storing in float32, the bound itself holds up to float64 rounding.
        const f64 = reconstructFromFloat64(t);
        const exact = factorError(w.data, t, f64);
        expect(exact.relError).toBeLessThanOrEqual(exact.boundRel + exact.eigenSlackRel + 4 * (p.c + p.s + 25) * 2 ** -52);
      }),
      { seed, numRuns },
    );
  });

  it('ranks by energy: the smallest rank whose kept squared singular values reach the share', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 10, noNaN: true }), { minLength: 1, maxLength: 12 }), fc.double({ min: 0.01, max: 1, noNaN: true }), (vals, energy) => {
        const v = [...vals].sort((a, b) => b - a);
        const total = v.reduce((a, b) => a + b, 0);
        const r = rankForEnergy(v, energy);
        const kept = (n: number) => v.slice(0, n).reduce((a, b) => a + b, 0);
        expect(r).toBeGreaterThanOrEqual(1);
        expect(r).toBeLessThanOrEqual(v.length);
        if (total > 0) {
          expect(kept(r) >= energy * total || r === v.length).toBe(true);
          if (r > 1) expect(kept(r - 1)).toBeLessThan(energy * total);
        }
      }),
      { seed, numRuns: 200 },
    );
  });

  it('the eigen routine (ml-matrix, float64) recovers exact singular values of a known filter', () => {
    // W[p, c, s] = sum_i sigma_i a_i(c) b_i(p, s) with orthonormal a: mode-3 singular values are sigma.
    const c = 4;
    const s = 3;
    const sig = [5, 3, 1, 0.5];
    const w = new Float64Array(4 * c * s);
    // a_i = e_i (orthonormal); b_i orthonormal over (p, s): pick distinct unit positions.
    for (let i = 0; i < c; i++) w[(i * c + i) * s + (i % s)] = sig[i];
    const t = tucker2(new Tensor([2, 2, c, s], Float32Array.from(w)), { ranks: [c, s] });
    expect(t.sv2[0].map(Math.sqrt).map((x) => +x.toFixed(12))).toEqual(sig);
  });
});

/** The factorized filter from the float64 factors (no float32 storage). */
function reconstructFromFloat64(t: ReturnType<typeof tucker2>): Float64Array {
  const [k1, k2, c, s] = t.shape;
  const [r1, r2] = t.ranks;
  const expand = new Float64Array(r2 * s);
  for (let o = 0; o < s; o++) for (let b = 0; b < r2; b++) expand[b * s + o] = t.u4[o * r2 + b];
  const asTensor = (shape: number[], data: Float64Array) => ({ shape, data }) as unknown as Tensor;
  return reconstructFilter({ reduce: asTensor([1, 1, c, r1], t.u3), core: asTensor([k1, k2, r1, r2], t.core), expand: asTensor([1, 1, r2, s], expand) });
}

const graphCase = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  hw: fc.integer({ min: 3, max: 7 }),
  c: fc.integer({ min: 1, max: 6 }),
  s: fc.integer({ min: 1, max: 6 }),
  k: fc.constantFrom(2, 3),
  stride: fc.constantFrom(1, 2),
  dilation: fc.constantFrom(1, 2),
  padding: fc.constantFrom<Padding>('SAME', 'VALID', [[1, 0], [2, 1]]),
  form: fc.constantFrom('conv', 'conv+bias_add', 'fused', 'fused+relu'),
  trueRanks: fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 })),
  noise: fc.constantFrom(0, 0.01, 0.3),
  ranks: fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 })),
  seed: fc.nat(),
});

function buildConv(p: typeof graphCase extends fc.Arbitrary<infer T> ? T : never) {
  const b = new GraphBuilder('one-conv');
  const x = b.input('x', [p.n, p.hw, p.hw, p.c]);
  const w = lowRankFilter([p.k, p.k, p.c, p.s], [Math.min(p.trueRanks[0], p.c), Math.min(p.trueRanks[1], p.s)], p.noise, prng(p.seed));
  const wv = b.constant('w', w);
  const dil = p.stride === 1 ? p.dilation : 1;
  const attrs = { strides: [p.stride, p.stride] as [number, number], padding: p.padding, dilations: [dil, dil] as [number, number] };
  const bias = b.constant('b', randomTensor([p.s], p.seed + 1, 0.5));
  let y;
  if (p.form.startsWith('fused')) y = b.fusedConv2d(x, wv, bias, { ...attrs, activation: p.form === 'fused+relu' ? 'relu' : 'none', name: 'conv' });
  else {
    y = b.conv2d(x, wv, { ...attrs, name: 'conv' });
    if (p.form === 'conv+bias_add') y = b.biasAdd(y, bias);
  }
  return { graph: b.build({ y }), w, attrs };
}

/** buildConv, or null when the window is larger than the input (VALID / explicit padding): not a graph. */
function buildConvOrSkip(p: Parameters<typeof buildConv>[0]): ReturnType<typeof buildConv> | null {
  try {
    return buildConv(p);
  } catch {
    return null;
  }
}

describe('factorization pass', () => {
  it('truncated: every output stays within conv(|x|, |W - W_hat|) plus both float32 bounds', () => {
    fc.assert(
      fc.property(graphCase, (p) => {
        const built = buildConvOrSkip(p);
        if (!built) return;
        const { graph, w, attrs } = built;
        const r = bottleneckFactorization.run(graph, { factorize: { ranks: p.ranks, requireSavings: false } });
        expect(r.report.rewritten).toBe(1);
        expect(r.report.exact).toBe(false);
        const d = (r.report.details as FactorizationDetail[])[0];
        expect(d.relError).toBeLessThanOrEqual(d.boundRel + d.slackRel);
        const get = (name: string) => r.graph.constants.get(name)!;
        const approx = reconstructFilter({ reduce: get('conv/reduce/filter'), core: get('conv/core/filter'), expand: get('conv/expand/filter') });
        const absErr = new Float64Array(approx.length).map((_, i) => Math.abs(w.data[i] - approx[i]));
        const xFeed = Float32Array.from({ length: p.n * p.hw * p.hw * p.c }, (_, i) => Math.sin(i * 12.9898 + p.seed) * 0.9);
        const before = evaluate(graph, { x: xFeed }).y;
        const after = evaluate(r.graph, { x: xFeed }).y;
        const xShape = [p.n, p.hw, p.hw, p.c];
        const propagated = convRef(Float64Array.from(xFeed, Math.abs), xShape, absErr, w.shape, attrs);
        for (let i = 0; i < before.value.length; i++) {
          const allowed = propagated[i] + before.bound[i] + after.bound[i];
          if (!(Math.abs(after.value[i] - before.value[i]) <= allowed)) throw new Error(`element ${i}: ${before.value[i]} vs ${after.value[i]}, allowed ${allowed}`);
        }
      }),
      { seed, numRuns },
    );
  });

  it('at full rank: every output within both float32 bounds plus ||x patch||_2 * slackRel * ||W||_F', () => {
    fc.assert(
      fc.property(graphCase, (p) => {
        const built = buildConvOrSkip(p);
        if (!built) return;
        const { graph, w, attrs } = built;
        const r = bottleneckFactorization.run(graph, { factorize: { ranks: [p.c, p.s], requireSavings: false } });
        const d = (r.report.details as FactorizationDetail[])[0];
        expect(d.ranks).toEqual([p.c, p.s]);
        expect(d.boundRel + d.eigenSlackRel).toBe(0);
        const normW = Math.sqrt(w.data.reduce((a, v) => a + v * v, 0));
        const xFeed = Float32Array.from({ length: p.n * p.hw * p.hw * p.c }, (_, i) => Math.cos(i * 78.233 + p.seed));
        const before = evaluate(graph, { x: xFeed }).y;
        const after = evaluate(r.graph, { x: xFeed }).y;
        const ones = new Float64Array(w.data.length).fill(1);
        const patch2 = convRef(Float64Array.from(xFeed, (v) => v * v), [p.n, p.hw, p.hw, p.c], ones, w.shape, attrs);
        for (let i = 0; i < before.value.length; i++) {
          const allowed = before.bound[i] + after.bound[i] + Math.sqrt(patch2[i]) * d.slackRel * normW;
          if (!(Math.abs(after.value[i] - before.value[i]) <= allowed)) throw new Error(`element ${i}: ${before.value[i]} vs ${after.value[i]}, allowed ${allowed}`);
        }
      }),
      { seed, numRuns },
    );
  });

  it('applies only where both MACs and params drop, and says so otherwise', () => {
    const b = new GraphBuilder('full');
    const x = b.input('x', [1, 8, 8, 4]);
    const g = b.build({ y: b.conv2d(x, b.constant('w', randomTensor([3, 3, 4, 4], 1)), { padding: 'SAME', name: 'conv' }) });
    const r = bottleneckFactorization.run(g, { factorize: { ranks: [4, 4] } });
    expect(r.graph).toBe(g);
    expect(r.report.skipped[0]).toMatch(/would not lower both params/);
    // 1x1 convs are never factorized.
    const b2 = new GraphBuilder('pw');
    const x2 = b2.input('x', [1, 4, 4, 8]);
    const g2 = b2.build({ y: b2.conv2d(x2, b2.constant('w', randomTensor([1, 1, 8, 8], 1)), { padding: 'SAME' }) });
    expect(bottleneckFactorization.run(g2, { factorize: { ranks: [1, 1] } }).report.matched).toBe(0);
  });

  it('is opt-in: not in O1 / O2; with the factorize option, O2 lowers the new 1x1 convs to matmuls', () => {
    const b = new GraphBuilder('lr');
    const x = b.input('x', [1, 10, 10, 16]);
    const w = lowRankFilter([3, 3, 16, 16], [2, 2], 1e-3, prng(9));
    const y = b.relu(b.biasAdd(b.conv2d(x, b.constant('w', w), { padding: 'SAME', name: 'conv' }), b.constant('b', randomTensor([16], 3, 0.1))));
    const g = b.build({ y });
    const pm = new PassManager();
    expect(pm.run(g, { level: 'O2' }).graph.nodes.map((n) => n.op)).toEqual(['fused_conv2d']);
    const r = pm.run(g, { level: 'O2', factorize: { energy: 0.95 } });
    expect(r.graph.nodes.map((n) => `${n.op}:${n.name}`)).toEqual([
      'reshape:conv/reduce/to_rows',
      'matmul:conv/reduce',
      'reshape:conv/reduce/to_nhwc',
      'conv2d:conv/core',
      'reshape:conv/to_rows',
      'fused_matmul:conv',
      'reshape:conv/to_nhwc',
    ]);
    const rep = r.reports.find((p) => p.pass === 'factorize')!;
    const d = (rep.details as FactorizationDetail[])[0];
    expect(d.ranks).toEqual([2, 2]);
    expect(rep.macs.after).toBeLessThan(rep.macs.before);
    expect(rep.notes[0]).toMatch(/^LOSSY/);
    expect(rep.changes[0]).toMatch(/factorized 'conv' 3x3x16x16 with ranks \(2, 2\): params 2304 -> 100, MACs .* relative filter error .* \(HOSVD bound .*\)/);
    expect(d.relError).toBeLessThanOrEqual(d.boundRel + d.slackRel);
    // Lossy passes are evaluated but not compared in verify mode.
    const v = pm.run(g, { level: 'O1', factorize: { energy: 0.95 }, verify: true });
    expect(v.reports.find((p) => p.pass === 'factorize')!.verification).toMatchObject({ compared: false });
    expect(v.verification?.ok).toBe(true);
    expect(U32).toBe(2 ** -24);
  });
});
