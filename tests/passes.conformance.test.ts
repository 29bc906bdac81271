import { graphArbitrary } from '@tessera/conformance';
import { testSeed } from '../packages/passes/test/arbitrary.js';
import { describeExactness } from '../packages/passes/test/exactness.js';

/*
 * The same exactness properties as packages/passes/test/exact-passes.property.test.ts, on the
 * conformance suite's general random graphs (@tessera/conformance graphArbitrary: every op,
 * weights sometimes graph inputs, wide data ranges, intermediates that are also outputs).
 */

const seed = testSeed('passes on conformance graphs', 0x5eed);
const numRuns = Number(process.env.TESSERA_RUNS ?? 100);
const graphs = graphArbitrary({ minOps: 1, maxOps: 12 });

describeExactness('exact passes on the conformance graph arbitrary', graphs, { seed, numRuns });
