/**
 * The conformance suite as vitest tests, for a third party's own test files:
 *
 *   import { describeConformance } from '@tessera/conformance/vitest';
 *   describeConformance('my-backend', { container, seed: 1 });
 *
 * A separate entry so that the main entry never imports vitest.
 */
import { describe, expect, it } from 'vitest';
import { OP_NAMES_UNDER_TEST } from './arbitraries.js';
import { writeRepro } from './repro.js';
import { BOUND_IO_PROPERTY, GRAPHS_PROPERTY, boundIOGraphs, freshSeed, runConformanceToReport, type ConformanceOptions } from './runner.js';
import { SPECIAL_PROPERTIES } from './special.js';

export interface DescribeConformanceOptions extends Omit<ConformanceOptions, 'backend' | 'only' | 'path'> {
  /** Per-test time limit (ms). Default 120 000. */
  readonly timeout?: number;
  /** Write each failure as a reproduction file into this directory (e.g. 'conformance-failures'). Default: none. */
  readonly reproDir?: string;
}

/** The property names a run with these options checks, in order. */
export function conformanceProperties(options: Omit<ConformanceOptions, 'backend'> = {}): string[] {
  const ops = options.ops ?? OP_NAMES_UNDER_TEST;
  const graphs = options.graphs ?? 100;
  const boundIO = boundIOGraphs(options);
  const special = ops.length > 0 || graphs > 0 ? (options.special ?? SPECIAL_PROPERTIES) : [];
  return [...ops, ...(graphs > 0 ? [GRAPHS_PROPERTY] : []), ...(boundIO > 0 ? [BOUND_IO_PROPERTY] : []), ...special];
}

/**
 * Defines a `describe` block with one `it` per property (each op, random graphs, random graphs
 * through bound inputs and outputs, non-finite and extreme values), each a fast-check run of the backend against the float64 reference. All share
 * one seed (given, or drawn once and printed in the test names' block title). A failing test
 * throws the shrunk case with the seed and path that replay it.
 */
export function describeConformance(backend: string, options: DescribeConformanceOptions = {}): void {
  const { timeout = 120_000, reproDir, ...suite } = options;
  const seed = suite.seed ?? freshSeed();
  describe(`conformance of backend '${backend}' (seed ${seed})`, () => {
    for (const property of conformanceProperties(suite)) {
      it(
        `${backend} agrees with the float64 reference within the derived float32 bound on ${property}`,
        async () => {
          const report = await runConformanceToReport({ ...suite, backend, seed, only: property });
          const [p] = report.properties;
          if (p.failure) {
            const file = reproDir ? await writeRepro(p.failure, { dir: reproDir }) : undefined;
            throw new Error(`${p.failure.message}${file ? `\n  reproduction: ${file}` : ''}`);
          }
          expect(p.passed).toBe(p.casesRun);
        },
        timeout,
      );
    }
  });
}
