/**
 * Item runs (backend-cpu item-runs.ts): on a batch, the cpu backend runs a step and the item-wise
 * steps after it block of items by block of items. Over random chains (conv -> bias_add -> relu
 * (-> conv) -> maxpool, a residual add, some values also graph outputs), blocks of 1 item and of a
 * few items give the bits of whole steps, on the wasm GEMM and the TypeScript one.
 * TESSERA_SEED=<n> replays another seed.
 */
import { CpuBackend } from '@tessera/backend-cpu';
import { compileProgram, cpuKernel, itemRuns } from '@tessera/backend-cpu/kernels';
import { GraphBuilder, randomTensor, type Graph } from '@tessera/core';
import { workload, workloadGraph } from '@tessera/examples';
import { optimize } from '@tessera/passes';
import { createContainer, createSession, planExecution, registerBackend } from '@tessera/runtime';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { expectBackendsBitIdentical } from './helpers/bits.js';
import { propertySeed } from './helpers/tfjs.js';

const SEED = propertySeed(20_261_207);
const BACKENDS = {
  whole: { itemBlockBytes: 0 },
  'blocks of 1 item': { itemBlockBytes: 1 },
  'blocks of ~3 KB': { itemBlockBytes: 3000 },
  'blocks of 1 item, JS kernels': { itemBlockBytes: 1, gemm: 'js' },
} as const;

const container = createContainer();
for (const [name, options] of Object.entries(BACKENDS)) registerBackend(container, name, () => new CpuBackend(options));

const chainArbitrary = fc.record({
  batch: fc.integer({ min: 2, max: 6 }),
  size: fc.integer({ min: 3, max: 12 }),
  inC: fc.integer({ min: 1, max: 4 }),
  outC: fc.integer({ min: 1, max: 12 }),
  k: fc.integer({ min: 1, max: 3 }),
  stride: fc.integer({ min: 1, max: 2 }),
  bias: fc.boolean(),
  relu: fc.boolean(),
  /** A residual add of the conv output and another conv of x (an operand computed before the run). */
  residual: fc.boolean(),
  conv2: fc.option(fc.integer({ min: 1, max: 3 }), { nil: null }),
  pool: fc.integer({ min: 1, max: 3 }),
  alsoOutput: fc.constantFrom('none' as const, 'conv' as const),
  seed: fc.integer({ min: 1, max: 1000 }),
});

type Chain = typeof chainArbitrary extends fc.Arbitrary<infer T> ? T : never;

function chainGraph(c: Chain): Graph {
  const g = new GraphBuilder('chain');
  const x = g.input('x', [c.batch, c.size, c.size, c.inC]);
  const conv = (name: string, k: number, seed: number) =>
    g.conv2d(x, g.constant(name, randomTensor([k, k, c.inC, c.outC], seed)), { strides: [c.stride, c.stride], padding: 'SAME' });
  let v = conv('f', c.k, c.seed);
  if (c.bias) v = g.biasAdd(v, g.constant('b', randomTensor([c.outC], c.seed + 1)));
  if (c.relu) v = g.relu(v);
  const first = v;
  if (c.residual) v = g.add(v, conv('f_side', 1, c.seed + 4));
  if (c.conv2) v = g.conv2d(v, g.constant('f2', randomTensor([c.conv2, c.conv2, c.outC, 5], c.seed + 3)), { strides: [1, 1], padding: 'SAME' });
  v = g.maxpool(v, { ksize: [c.pool, c.pool], strides: [c.pool, c.pool], padding: 'SAME' });
  return g.build(c.alsoOutput === 'conv' ? { y: v, h: first } : { y: v });
}

describe('cpu item runs', () => {
  it('property: blocks of items give the bits of whole steps (wasm and TypeScript kernels)', async () => {
    console.log(`item runs property seed ${SEED} (set TESSERA_SEED to replay another)`);
    await fc.assert(
      fc.asyncProperty(chainArbitrary, async (c) => {
        const graph = chainGraph(c);
        const x = randomTensor(graph.inputs[0].shape, c.seed + 2).data;
        const whole = await createSession(graph, { backend: 'whole', container });
        const expected = await whole.run({ x });
        whole.dispose();
        await expectBackendsBitIdentical(graph, { x }, expected, Object.keys(BACKENDS).slice(1), container);
      }),
      { seed: SEED, numRuns: 40 },
    );
  }, 120_000);

  it('the seed CNN at batch 32 runs conv -> bias_add -> relu -> maxpool image by image (per image, its outputs take 3 x 200,704 + 50,176 bytes), at O1 in blocks of 2 images', async () => {
    const plan = await new CpuBackend().plan(workloadGraph(workload('W1-b32')), {});
    const program = compileProgram(plan, cpuKernel, 'cpu', { gemm: 'wasm' });
    const runs = itemRuns(plan.graph, program.nodeSteps, plan).filter((r) => r !== null);
    expect(runs.map((r) => ({ ops: r.members.map((m) => plan.graph.nodes[m].op), items: r.items, itemsPerBlock: r.itemsPerBlock }))).toEqual([
      { ops: ['conv2d', 'bias_add', 'relu', 'maxpool'], items: 32, itemsPerBlock: 1 },
    ]);
    // fused_conv2d -> maxpool: 200,704 + 50,176 bytes per image.
    const o1 = await new CpuBackend().plan(optimize(workloadGraph(workload('W1-b32')), { level: 'O1' }).graph, {});
    const o1Runs = itemRuns(o1.graph, compileProgram(o1, cpuKernel, 'cpu', { gemm: 'wasm' }).nodeSteps, o1).filter((r) => r !== null);
    expect(o1Runs.map((r) => r.itemsPerBlock)).toEqual([Math.floor((512 * 1024) / (200_704 + 50_176))]);
    // Batch 1: nothing to block.
    const one = planExecution(workloadGraph(workload('W1-b1')));
    expect(itemRuns(one.graph, compileProgram(one, cpuKernel, 'cpu', { gemm: 'wasm' }).nodeSteps, one).every((r) => r === null)).toBe(true);
  });
});
