/**
 * The conformance suite on the `workers` backend (Node worker threads): every op under test,
 * random graphs (also through bound inputs and outputs), non-finite and extreme values, against
 * the float64 reference and its derived per-element bounds. The pool is
 * registered with eager partitioning (every step worth a few dozen multiply-adds is split over
 * the workers), so the suite's small cases exercise the split kernels and the shared memory, not
 * the main-thread fallback that small graphs get by default. TESSERA_SEED=<n> replays another seed.
 */
import '@tessera/backend-cpu';
import { registerWorkersBackend, type WorkersBackend } from '@tessera/backend-workers';
import { BOUND_IO_PROPERTY, GRAPHS_PROPERTY, OP_NAMES_UNDER_TEST, SPECIAL_PROPERTIES, formatRatio, runConformanceToReport, type PropertyReport } from '@tessera/conformance';
import { backendNames, createContainer, disposeBackends, getBackend } from '@tessera/runtime';
import { describe, expect, it, beforeAll, afterAll } from 'vitest';

const SEED = process.env.TESSERA_SEED !== undefined ? Number(process.env.TESSERA_SEED) : 20_240_611;
const RUNS_PER_OP = 100;
const GRAPHS = 100;
const BOUND_IO = 25;

const backend = 'workers';

/** The suite on a pool of `THREADS` worker threads, one vitest test per property. */
export function describeWorkersConformance(THREADS: number): void {
  const container = createContainer();
  registerWorkersBackend(container, { name: backend, threads: THREADS, inlineCost: 64, minPartCost: 32, inlineGraphCost: 0 });

  const results: PropertyReport[] = [];

  describe(`conformance of backend '${backend}' (${THREADS} worker threads)`, () => {
    beforeAll(async () => {
      if (!Number.isInteger(SEED)) throw new Error(`TESSERA_SEED must be an integer, got '${process.env.TESSERA_SEED}'`);
      console.log(`conformance seed ${SEED} (set TESSERA_SEED to replay another); backend '${backend}'`);
      expect(backendNames(container)).toContain(backend);
      expect(await (getBackend(container, backend) as WorkersBackend).ready()).toBe(THREADS);
    }, 120_000);

    afterAll(async () => {
      // The suite ran on the workers, not on the main-thread fallback.
      expect(await (getBackend(container, backend) as WorkersBackend).testHooks.dispatchedSteps()).toBeGreaterThan(500);
      await disposeBackends(container);
      const lines = results.map(
        (p) => `  ${p.property.padEnd(13)} ${p.passed}/${p.casesRun} passed, worst error ${formatRatio(p.worstRatio)} of bound, ${(p.durationMs / 1000).toFixed(2)} s`,
      );
      if (lines.length) console.log(`conformance of '${backend}' (seed ${SEED}):\n${lines.join('\n')}`);
    });

    const properties = [...OP_NAMES_UNDER_TEST, GRAPHS_PROPERTY, BOUND_IO_PROPERTY, ...SPECIAL_PROPERTIES];
    const cases = (property: string) => (property === GRAPHS_PROPERTY ? GRAPHS : property === BOUND_IO_PROPERTY ? BOUND_IO : RUNS_PER_OP);
    for (const property of properties) {
      it(`${backend} agrees with the float64 reference within the derived bound on ${property}`, async () => {
        const report = await runConformanceToReport({ backend, container, seed: SEED, runs: RUNS_PER_OP, graphs: GRAPHS, boundIO: BOUND_IO, only: property });
        const [p] = report.properties;
        results.push(p);
        if (p.failure) throw new Error(p.failure.message);
        expect(p.casesRun).toBe(cases(property));
        expect(p.passed).toBe(p.casesRun);
        // A correct backend stays within the likely (probabilistic) bound at these counts.
        expect(p.likely.casesBeyond).toBe(0);
      });
    }
  });
}
