/**
 * The conformance suite on the `cpu` backend: every op under test and random graphs, each a
 * fast-check property against the float64 reference and its derived per-element bounds.
 * Fixed seed; TESSERA_SEED=<n> replays another. A failure throws the shrunk case: its graph,
 * feeds, and the seed and path that replay it with runConformance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '@tessera/backend-cpu';
import { backendNames, defaultContainer } from '@tessera/runtime';
import { GRAPHS_PROPERTY, OP_NAMES_UNDER_TEST, formatRatio, runConformanceToReport, type PropertyReport } from '@tessera/conformance';

const SEED = process.env.TESSERA_SEED !== undefined ? Number(process.env.TESSERA_SEED) : 20_240_611;
const RUNS_PER_OP = 200;
const GRAPHS = 300;

const backend = 'cpu';
const container = defaultContainer;

const results: PropertyReport[] = [];

describe(`conformance of backend '${backend}'`, () => {
  beforeAll(() => {
    if (!Number.isInteger(SEED)) throw new Error(`TESSERA_SEED must be an integer, got '${process.env.TESSERA_SEED}'`);
    console.log(`conformance seed ${SEED} (set TESSERA_SEED to replay another); backend '${backend}'`);
    expect(backendNames(container)).toContain(backend);
  });

  afterAll(() => {
    const lines = results.map(
      (p) => `  ${p.property.padEnd(13)} ${p.passed}/${p.casesRun} passed, worst error ${formatRatio(p.worstRatio)} of bound, ${(p.durationMs / 1000).toFixed(2)} s`,
    );
    if (lines.length) console.log(`conformance of '${backend}' (seed ${SEED}):\n${lines.join('\n')}`);
  });

  const properties = [...OP_NAMES_UNDER_TEST.map((op) => ({ name: `on ${op}`, op })), { name: 'on random graphs of 1-12 ops', op: GRAPHS_PROPERTY }];
  for (const { name, op } of properties) {
    it(`${backend} agrees with the float64 reference within the derived bound ${name}`, async () => {
      const graphsOnly = op === GRAPHS_PROPERTY;
      const report = await runConformanceToReport({
        backend,
        container,
        seed: SEED,
        runs: RUNS_PER_OP,
        ops: graphsOnly ? [] : [op],
        graphs: graphsOnly ? GRAPHS : 0,
      });
      const [p] = report.properties;
      results.push(p);
      if (p.failure) throw new Error(p.failure.message);
      expect(p.casesRun).toBe(graphsOnly ? GRAPHS : RUNS_PER_OP);
      expect(p.passed).toBe(p.casesRun);
    });
  }
});
