/**
 * Bound IO (`createSession(graph, { bindIO: true })`, `session.io`) on the cpu and workers
 * backends, over random graphs of the conformance suite (several inputs when weights are graph
 * inputs, reshape views, several outputs): the inputs written once into `session.io` serve two
 * runs in a row, and both give the bits of a plain session on the cpu backend.
 * TESSERA_SEED=<n> replays another seed.
 */
import '@tessera/backend-cpu';
import { createWorkersBackend } from '@tessera/backend-workers';
import { graphArbitrary } from '@tessera/conformance';
import { createContainer, createSession, registerBackend } from '@tessera/runtime';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { expectBitIdentical } from './helpers/bits.js';

const SEED = process.env.TESSERA_SEED !== undefined ? Number(process.env.TESSERA_SEED) : 20_261_128;
const container = createContainer();
// Split every step worth a few dozen multiply-adds, so that the small graphs run on the pool.
const workers = createWorkersBackend({ threads: 1, inlineCost: 64, minPartCost: 32, inlineGraphCost: 0 });
registerBackend(container, 'workers', () => workers);

afterAll(() => workers.dispose());

describe('bound IO', () => {
  it('property: inputs written once into session.io serve two runs in a row, each with the bits of a plain cpu run (cpu, workers)', async () => {
    console.log(`bound IO property seed ${SEED} (set TESSERA_SEED to replay another)`);
    await fc.assert(
      fc.asyncProperty(graphArbitrary(), async ({ graph, feeds }) => {
        const plain = await createSession(graph, { backend: 'cpu' });
        const expected = await plain.run(feeds);
        plain.dispose();
        for (const [backend, c] of [['cpu', undefined], ['workers', container]] as const) {
          const session = await createSession(graph, { backend, container: c, bindIO: true });
          const { inputs, outputs } = session.io;
          for (const [name, data] of Object.entries(feeds)) inputs[name].set(data);
          for (const run of [1, 2]) {
            const actual = await session.run(inputs, { outputs });
            for (const name of Object.keys(graph.outputs)) {
              expect(actual[name], `${backend}, run ${run}, output '${name}'`).toBe(outputs[name]);
              expectBitIdentical(actual[name], expected[name], `${backend}, run ${run}, output '${name}'\n${graph.toString()}`);
            }
          }
          session.dispose();
        }
      }),
      { seed: SEED, numRuns: 40 },
    );
  }, 120_000);
});
