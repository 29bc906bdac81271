/**
 * Tiles (backend-workers chain.ts / tile.ts): on a batch, a conv -> bias_add -> relu (-> conv)
 * -> maxpool chain keeps its internal values per participant, with the members' offsets
 * moved per chunk.
 * Over random shapes, strides, paddings, pool sizes and pool configurations (tiled or not, some
 * values also graph outputs), the workers backend gives the cpu backend's bits.
 * TESSERA_SEED=<n> replays another seed.
 */
import '@tessera/backend-cpu';
import { createWorkersBackend, type WorkersBackend } from '@tessera/backend-workers';
import { GraphBuilder, randomTensor, type Graph } from '@tessera/core';
import { createContainer, createSession, registerBackend } from '@tessera/runtime';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { expectBackendsBitIdentical } from './helpers/bits.js';
import { propertySeed } from './helpers/tfjs.js';

const SEED = propertySeed(20_261_128);
/** Split every step worth a few hundred multiply-adds, so small chains run on the pool. */
const EAGER = { inlineCost: 500, minPartCost: 200, inlineGraphCost: 0 } as const;
const POOLS = {
  '1+caller': { threads: 1 },
  '2+caller': { threads: 2 },
  '2 alone': { threads: 2, mainShare: false },
  '1+caller, JS kernels': { threads: 1, gemm: 'js' },
} as const;

const container = createContainer();
const pools: WorkersBackend[] = [];

beforeAll(async () => {
  for (const [name, o] of Object.entries(POOLS)) {
    const backend = createWorkersBackend({ ...o, ...EAGER });
    pools.push(backend);
    registerBackend(container, name, () => backend);
  }
  await Promise.all(pools.map((p) => p.ready()));
}, 60_000);

afterAll(() => Promise.all(pools.map((p) => p.dispose())));

const chainArbitrary = fc.record({
  batch: fc.integer({ min: 2, max: 8 }),
  size: fc.integer({ min: 3, max: 12 }),
  inC: fc.integer({ min: 1, max: 4 }),
  outC: fc.integer({ min: 1, max: 12 }),
  k: fc.integer({ min: 1, max: 3 }),
  stride: fc.integer({ min: 1, max: 2 }),
  padding: fc.constantFrom('SAME' as const, 'VALID' as const),
  bias: fc.boolean(),
  relu: fc.boolean(),
  /** A second conv after the relu, reading the tiled value: 1x1 (a row-wise follower) or 2x2 / 3x3 (item-wise). */
  conv2: fc.option(fc.record({ k: fc.integer({ min: 1, max: 3 }), outC: fc.integer({ min: 1, max: 8 }) }), { nil: null }),
  pool: fc.integer({ min: 1, max: 3 }),
  pools: fc.integer({ min: 1, max: 2 }),
  /** Which value is also a graph output (then it is kept whole): none, the conv's, the first pool's. */
  alsoOutput: fc.constantFrom('none' as const, 'conv' as const, 'pool' as const),
  seed: fc.integer({ min: 1, max: 1000 }),
});

type Chain = typeof chainArbitrary extends fc.Arbitrary<infer T> ? T : never;

function chainGraph(c: Chain): Graph {
  const g = new GraphBuilder('chain');
  const x = g.input('x', [c.batch, c.size, c.size, c.inC]);
  let v = g.conv2d(x, g.constant('f', randomTensor([c.k, c.k, c.inC, c.outC], c.seed)), { strides: [c.stride, c.stride], padding: c.padding });
  if (c.bias) v = g.biasAdd(v, g.constant('b', randomTensor([c.outC], c.seed + 1)));
  if (c.relu) v = g.relu(v);
  const conv = v;
  if (c.conv2) v = g.conv2d(v, g.constant('f2', randomTensor([c.conv2.k, c.conv2.k, c.outC, c.conv2.outC], c.seed + 3)), { strides: [1, 1], padding: c.conv2.k === 1 ? 'VALID' : 'SAME' });
  const firstPool = (v = g.maxpool(v, { ksize: [c.pool, c.pool], strides: [c.pool, c.pool], padding: 'SAME' }));
  if (c.pools === 2) v = g.maxpool(v, { ksize: [2, 2], strides: [1, 1], padding: 'SAME' });
  const also = c.alsoOutput === 'conv' ? conv : c.alsoOutput === 'pool' && c.pools === 2 ? firstPool : null;
  return g.build(also ? { y: v, h: also } : { y: v });
}

describe('workers tiles', () => {
  it('property: a conv -> bias_add -> relu (-> conv) -> maxpool chain on a batch gives the cpu backend\'s bits on every pool, tiled or not', async () => {
    console.log(`tiles property seed ${SEED} (set TESSERA_SEED to replay another)`);
    await fc.assert(
      fc.asyncProperty(chainArbitrary, async (c) => {
        const graph = chainGraph(c);
        const x = randomTensor(graph.inputs[0].shape, c.seed + 2).data;
        const cpu = await createSession(graph, { backend: 'cpu' });
        const expected = await cpu.run({ x });
        cpu.dispose();
        await expectBackendsBitIdentical(graph, { x }, expected, Object.keys(POOLS), container);
      }),
      { seed: SEED, numRuns: 30 },
    );
  }, 120_000);
});
