import fc from 'fast-check';
import { describe, it } from 'vitest';
import { evaluate, type Graph } from '@tessera/core';
import {
  PassManager,
  compareResults,
  constantFolding,
  convFusion,
  deadNodeElimination,
  foldBatchNorm,
  foldPad,
  layout,
  linearComposition,
  lower1x1,
  reshapeFolding,
  type Pass,
} from '../src/index.js';

export const EXACT_PASSES: Pass[] = [deadNodeElimination, constantFolding, reshapeFolding, layout, foldBatchNorm, foldPad, linearComposition, convFusion, lower1x1];

function expectSameResults(before: ReturnType<typeof evaluate>, after: ReturnType<typeof evaluate>, what: string): void {
  const c = compareResults(before, after);
  if (!c.ok) throw new Error(`${what} changed results: ${JSON.stringify(c.mismatch)}`);
}

/**
 * The exactness properties on one source of random graphs: every exact pass and the O1 / O2
 * pipelines keep each output within |after - before| <= boundBefore + boundAfter (float64 reference).
 */
export function describeExactness(
  title: string,
  graphs: fc.Arbitrary<{ graph: Graph; feeds: Record<string, Float32Array> }>,
  { seed, numRuns }: { seed: number; numRuns: number },
): void {
  describe(title, () => {
    for (const pass of EXACT_PASSES) {
      it(`pass '${pass.name}' keeps every output within the float32 bound`, () => {
        fc.assert(
          fc.property(graphs, ({ graph, feeds }) => {
            expectSameResults(evaluate(graph, feeds), evaluate(pass.run(graph, {}).graph, feeds), pass.name);
          }),
          { seed, numRuns },
        );
      });
    }
    for (const level of ['O1', 'O2']) {
      it(`pipeline ${level} keeps every output within the float32 bound`, () => {
        const pm = new PassManager();
        fc.assert(
          fc.property(graphs, ({ graph, feeds }) => {
            expectSameResults(evaluate(graph, feeds), evaluate(pm.run(graph, { level }).graph, feeds), level);
          }),
          { seed, numRuns },
        );
      });
    }
  });
}
