/**
 * Strassen-Winograd matmuls: core's scheme and bound (the coefficient table is an exact product;
 * the allowance catches a product left out), the cpu backend's choice ('auto' on large matmuls,
 * 'off' / false / --no-strassen the direct algorithm's bits), the suite's matmul properties with
 * Strassen forced, eligible cases (any rows, extreme and non-finite values) judged by the
 * conformance `checkCase` on cpu and on workers splitting the row panels, and workers giving cpu's
 * bits. Small counts: the full suite runs under `tessera conformance`.
 */
import { CpuBackend } from '@tessera/backend-cpu';
import { createWorkersBackend } from '@tessera/backend-workers';
import { CaseBuilder, checkCase, dataSpecArbitrary, type ConformanceCase } from '@tessera/conformance';
import { describeConformance } from '@tessera/conformance/vitest';
import {
  GraphBuilder, STRASSEN_PANEL_ROWS, STRASSEN_PRODUCTS, Tensor, algorithmWiden, evaluate, exactRef, prng, strassenAllowance, type Activation, type Graph,
} from '@tessera/core';
import { createContainer, createSession, registerBackend } from '@tessera/runtime';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { bitsOf, runOnce } from './helpers/bits.js';
import { applyAlgorithmFlags } from '../packages/cli/src/flags.js';

const SEED = process.env.TESSERA_SEED !== undefined ? Number(process.env.TESSERA_SEED) : 20_261_207;
const container = createContainer();
registerBackend(container, 'cpu', () => new CpuBackend());
registerBackend(container, 'cpu-strassen', () => new CpuBackend({ strassen: 'always' }));
registerBackend(container, 'cpu-off', () => new CpuBackend({ strassen: 'off' }));
registerBackend(container, 'cpu-false', () => new CpuBackend({ strassen: false }));
// One worker and the calling thread, every step split (row panels claimed by either): the workers' Strassen.
const workers = createWorkersBackend({ threads: 1, strassen: 'always', inlineCost: 0, minPartCost: 0, inlineGraphCost: 0 });
registerBackend(container, 'workers-strassen', () => workers);
afterAll(() => workers.dispose());

const random = (n: number, seed: number) => {
  const r = prng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
};

/** y = relu(x [m x k] w [k x n] + bias). */
function denseGraph(m: number, k: number, n: number): Graph {
  const b = new GraphBuilder('dense');
  const x = b.input('x', [m, k]);
  const w = b.constant('w', new Tensor([k, n], random(k * n, 2)));
  const bias = b.constant('bias', new Tensor([n], random(n, 3)));
  return b.build({ y: b.relu(b.biasAdd(b.matmul(x, w, { name: 'dense' }), bias)) });
}

/** y = x w for a constant w (the data given), no epilogue. */
function denseLess(m: number, k: number, n: number, w: Float32Array): Graph {
  const b = new GraphBuilder('plain');
  return b.build({ y: b.matmul(b.input('x', [m, k]), b.constant('w', new Tensor([k, n], w))) });
}

const runOn = (backend: string, graph: Graph, feeds: Record<string, Float32Array>, on = container) => runOnce(backend, graph, feeds, on);

describe("core's Strassen scheme and bound", () => {
  /** C = A B by one level of the table in float64, leaving out product `drop` (-1: none); A, B are 2h x 2h. */
  function oneLevel(A: Float64Array, B: Float64Array, h: number, drop: number): Float64Array {
    const n = 2 * h;
    const block = (M: Float64Array, q: number, i: number, j: number) => M[((q >> 1) * h + i) * n + (q & 1) * h + j];
    const C = new Float64Array(n * n);
    STRASSEN_PRODUCTS.a.forEach((ca, p) => {
      if (p === drop) return;
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < h; j++) {
          let s = 0;
          for (let l = 0; l < h; l++) {
            const x = ca.reduce((acc, c, q) => acc + c * block(A, q, i, l), 0);
            const y = STRASSEN_PRODUCTS.b[p].reduce((acc, c, q) => acc + c * block(B, q, l, j), 0);
            s += x * y;
          }
          STRASSEN_PRODUCTS.c.forEach((cc, q) => (C[((q >> 1) * h + i) * n + (q & 1) * h + j] += cc[p] * s));
        }
      }
    });
    return C;
  }

  it('the table is a matrix product: one level in float64 equals the direct product of random 8x8 matrices (to 1e-12)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const [A, B] = [Float64Array.from(random(64, seed)), Float64Array.from(random(64, seed + 1))];
        const C = oneLevel(A, B, 4, -1);
        for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) {
          let s = 0;
          for (let l = 0; l < 8; l++) s += A[i * 8 + l] * B[l * 8 + j];
          expect(Math.abs(C[i * 8 + j] - s)).toBeLessThan(1e-12);
        }
      }),
      { numRuns: 20, seed: SEED },
    );
  });

  it('the allowance catches a result that leaves out any one of the seven products (random 16x16 matrices, one level)', () => {
    const [a, b] = [random(256, 11), random(256, 12)];
    const ref = evaluate(denseLess(16, 16, 16, b), { x: a }).y;
    const extra = strassenAllowance(exactRef([16, 16], a), exactRef([16, 16], b), { transposeA: false, transposeB: false }, 1);
    for (let drop = 0; drop < 7; drop++) {
      const C = oneLevel(Float64Array.from(a), Float64Array.from(b), 8, drop);
      const outside = C.some((v, i) => Math.abs(v - ref.value[i]) > ref.bound[i] + extra.bound[i]);
      expect(outside, `product ${drop + 1} left out`).toBe(true);
    }
  });

  it('a panel whose rows are not finite gets no allowance (the backend runs it directly); the other panels keep theirs', () => {
    const rows = STRASSEN_PANEL_ROWS + 8;
    const a = random(rows * 16, 5);
    a[3] = Infinity;
    const extra = strassenAllowance(exactRef([rows, 16], a), exactRef([16, 16], random(256, 6)), { transposeA: false, transposeB: false }, 1);
    expect(extra.bound.subarray(0, STRASSEN_PANEL_ROWS * 16).every((v) => v === 0)).toBe(true);
    expect(extra.bound.subarray(STRASSEN_PANEL_ROWS * 16).every((v) => v > 0 && Number.isFinite(v))).toBe(true);
  });
});

describe('Strassen on the cpu backend', () => {
  it("'auto' runs a 512 x 512 x 512 dense layer with one level, reports it, and stays within the widened bound; small matmuls stay direct", async () => {
    const graph = denseGraph(512, 512, 512);
    const feeds = { x: random(512 * 512, 1) };
    const { outputs, algorithms } = await runOn('cpu', graph, feeds);
    expect([...algorithms]).toEqual([['dense', 'strassen-1']]);
    const ref = evaluate(graph, feeds, { widen: algorithmWiden(algorithms) }).y;
    for (let i = 0; i < ref.value.length; i++) expect(Math.abs(outputs.y[i] - ref.value[i])).toBeLessThanOrEqual(ref.bound[i]);
    expect((await runOn('cpu', denseGraph(100, 128, 64), { x: random(100 * 128, 1) })).algorithms.size).toBe(0);
  }, 60_000);

  it("'off', false and --no-strassen run every matmul directly: no algorithm reported, the direct algorithm's bits", async () => {
    const graph = denseGraph(40, 64, 32);
    const feeds = { x: random(40 * 64, 4) };
    const off = await runOn('cpu-off', graph, feeds);
    const no = await runOn('cpu-false', graph, feeds);
    expect(off.algorithms.size + no.algorithms.size).toBe(0);
    expect(bitsOf(no.outputs.y)).toEqual(bitsOf(off.outputs.y));
    // Strassen's bits differ from the direct ones (so the comparisons here can fail).
    const forced = await runOn('cpu-strassen', graph, feeds);
    expect([...forced.algorithms.values()]).toEqual(['strassen-2']);
    expect(bitsOf(forced.outputs.y)).not.toEqual(bitsOf(off.outputs.y));
    const cli = createContainer();
    registerBackend(cli, 'cpu', () => new CpuBackend({ strassen: 'always' }));
    await applyAlgorithmFlags({ strassen: false }, cli);
    const flagged = await runOn('cpu', graph, feeds, cli);
    expect(flagged.algorithms.size).toBe(0);
    expect(bitsOf(flagged.outputs.y)).toEqual(bitsOf(off.outputs.y));
  });

  it('workers splitting the row panels give the cpu backend\'s bits (1100 rows: three panels, the last not a multiple of 4)', async () => {
    const graph = denseGraph(1100 - 2, 32, 48);
    const feeds = { x: random(1098 * 32, 7) };
    const cpu = await runOn('cpu-strassen', graph, feeds);
    const split = await runOn('workers-strassen', graph, feeds);
    expect([...split.algorithms.values()]).toEqual(['strassen-2']);
    expect(bitsOf(split.outputs.y)).toEqual(bitsOf(cpu.outputs.y));
  });
});

const SUITE_RUNS = 25;
for (const backend of ['cpu-strassen', 'cpu-off']) {
  describeConformance(backend, { container, seed: SEED, runs: SUITE_RUNS, graphs: 0, ops: ['matmul', 'fused_matmul'] });
}

const data = dataSpecArbitrary({ maxExp: 14 });

/** A matmul or fused_matmul Strassen can run: a constant b shared by the batches, k and n multiples of 16, any rows. */
const eligibleCase: fc.Arbitrary<ConformanceCase> = fc
  .record({
    fused: fc.boolean(), rank3: fc.boolean(), batch: fc.integer({ min: 1, max: 3 }), m: fc.integer({ min: 4, max: 700 }),
    k: fc.integer({ min: 1, max: 4 }), n: fc.integer({ min: 1, max: 4 }), transposeB: fc.boolean(),
    activation: fc.constantFrom<Activation>('none', 'relu', 'relu6'), ad: data, bd: data, biasd: data,
  })
  .map((p) => {
    const [k, n] = [16 * p.k, 16 * p.n];
    const c = new CaseBuilder('strassen_case');
    const a = c.input('a', p.rank3 ? [p.batch, p.m, k] : [p.m, k], p.ad);
    const b = c.operand('b', p.transposeB ? [n, k] : [k, n], p.bd, 'constant');
    const attrs = { transposeA: false, transposeB: p.transposeB };
    if (!p.fused) return c.build({ y: c.b.matmul(a, b, attrs) });
    const bias = c.operand('bias', [n], p.biasd, 'constant');
    return c.build({ y: c.b.fusedMatmul(a, b, bias, { ...attrs, activation: p.activation }) });
  });

describe('Strassen-eligible matmuls on the cpu and workers backends', () => {
  for (const backend of ['cpu-strassen', 'workers-strassen']) {
    it(`${backend} runs every one with Strassen and agrees with the reference within the widened bound (conformance checkCase)`, async () => {
      let worst = 0;
      await fc.assert(
        fc.asyncProperty(eligibleCase, async (c) => {
          const session = await createSession(c.graph, { backend, container });
          const algorithms = [...session.stats.algorithms.values()];
          session.dispose();
          expect(algorithms).toEqual(['strassen-2']);
          const outcome = await checkCase(c, { backend, container });
          expect(outcome.summary).toMatch(/^ok/);
          worst = Math.max(worst, outcome.worstRatio);
        }),
        { numRuns: 40, seed: SEED },
      );
      console.log(`${backend}: worst error ${worst.toExponential(2)} of the widened bound over 40 eligible matmuls`);
    }, 120_000);
  }
});
