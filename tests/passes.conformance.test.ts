import fc from 'fast-check';
import { describe, it } from 'vitest';
import { evaluate } from '@tessera/core';
import { graphArbitrary } from '@tessera/conformance';
import {
  PassManager,
  compareResults,
  constantFolding,
  convFusion,
  deadNodeElimination,
  linearComposition,
  lower1x1,
  reshapeFolding,
  type Pass,
} from '@tessera/passes';

/*
 * The same properties as packages/passes/test/exact-passes.property.test.ts, on the conformance
 * suite's general random graphs (@tessera/conformance graphArbitrary: every op, weights sometimes
 * graph inputs, wide data ranges, intermediates that are also outputs): every exact pass and the
 * O1 / O2 pipelines keep each output within |after - before| <= boundBefore + boundAfter.
 */

const env = process.env.TESSERA_SEED;
const seed = env !== undefined && env !== '' ? Number(env) : 0x5eed;
console.log(`[passes on conformance graphs] fast-check seed ${seed} (set TESSERA_SEED to replay or vary)`);
const numRuns = Number(process.env.TESSERA_RUNS ?? 100);
const graphs = graphArbitrary({ minOps: 1, maxOps: 12 });
const passes: Pass[] = [deadNodeElimination, constantFolding, reshapeFolding, linearComposition, convFusion, lower1x1];

function check(before: ReturnType<typeof evaluate>, after: ReturnType<typeof evaluate>, what: string): void {
  const c = compareResults(before, after);
  if (!c.ok) throw new Error(`${what} changed results: ${JSON.stringify(c.mismatch)}`);
}

describe('exact passes on the conformance graph arbitrary', () => {
  for (const pass of passes) {
    it(`pass '${pass.name}' keeps every output within the float32 bound`, () => {
      fc.assert(
        fc.property(graphs, ({ graph, feeds }) => {
          check(evaluate(graph, feeds), evaluate(pass.run(graph, {}).graph, feeds), pass.name);
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
          check(evaluate(graph, feeds), evaluate(pm.run(graph, { level }).graph, feeds), level);
        }),
        { seed, numRuns },
      );
    });
  }
});
