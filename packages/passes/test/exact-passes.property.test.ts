import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BUILTIN_PASSES, PassManager } from '../src/index.js';
import { passGraphArbitrary, testSeed } from './arbitrary.js';
import { EXACT_PASSES, describeExactness } from './exactness.js';

/*
 * For random graphs (biased towards the passes' patterns), every exact pass and the O1 / O2
 * pipelines give results equal to the unoptimized graph's within the derived float32 bound:
 * per element |after - before| <= boundBefore + boundAfter, on the float64 reference.
 */

const seed = testSeed('passes property tests');
const numRuns = Number(process.env.TESSERA_RUNS ?? 150);
const graphs = passGraphArbitrary({ minOps: 1, maxOps: 12 });

describeExactness('exact passes keep results within the float32 bound on random graphs', graphs, { seed, numRuns });

describe('exact passes on random graphs: marking, verify mode, fixed point, coverage', () => {
  it('every built-in pass except factorize is marked exact', () => {
    expect(BUILTIN_PASSES.filter((p) => !p.exact).map((p) => p.name)).toEqual(['factorize']);
    expect(EXACT_PASSES.every((p) => p.exact)).toBe(true);
  });

  for (const level of ['O1', 'O2'] as const) {
    it(`pipeline ${level} passes its own translation validation (verify mode)`, () => {
      const pm = new PassManager();
      fc.assert(
        fc.property(graphs, ({ graph }) => {
          const r = pm.run(graph, { level, verify: { seed: 3 } });
          if (!r.verification?.ok) throw new Error(JSON.stringify(r.verification));
        }),
        { seed, numRuns: Math.ceil(numRuns / 3) },
      );
    });

    it(`pipeline ${level} reaches a fixed point: running it again changes nothing`, () => {
      const pm = new PassManager();
      fc.assert(
        fc.property(graphs, ({ graph }) => {
          const once = pm.run(graph, { level }).graph;
          const twice = pm.run(once, { level });
          expect(twice.reports.every((r) => r.rewritten === 0)).toBe(true);
        }),
        { seed, numRuns: Math.ceil(numRuns / 3) },
      );
    });
  }

  it('the random graphs exercise every exact pass (each rewrites something in at least 10% of graphs)', () => {
    const fired = new Map<string, number>(EXACT_PASSES.map((p) => [p.name, 0]));
    const samples = fc.sample(graphs, { seed, numRuns: 200 });
    for (const { graph } of samples) {
      for (const p of EXACT_PASSES) if (p.run(graph, {}).report.rewritten > 0) fired.set(p.name, fired.get(p.name)! + 1);
    }
    // O2 order matters for lowering / composition of folded filters; each pass alone must still fire often.
    for (const [name, count] of fired) expect(count, `${name} fired in ${count} of 200 graphs`).toBeGreaterThanOrEqual(20);
  });
});
