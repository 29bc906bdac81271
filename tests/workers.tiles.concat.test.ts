/**
 * Regression (conformance seed 1, workers-split): relu -> concat(axis 3, a constant) ->
 * fused_conv2d 1x1 on a batch runs as one item-wise chain whose relu output is kept in tiles
 * (tile.ts). The members' steps were moved to each participant's tile by their top-level
 * references only, so concat, whose operands are an array of references, read the relu output
 * from the value's whole memory: stale data wherever a participant ran a chunk other than the
 * one its tile sits on (a caller that claimed both chunks; with more chunks than participants,
 * always). It passed when replayed alone because the caller's timing decided who took which chunk.
 */
import '@tessera/backend-cpu';
import { createWorkersBackend, type WorkersBackend } from '@tessera/backend-workers';
import { GraphBuilder, randomTensor, Tensor, type Graph } from '@tessera/core';
import { createContainer, createSession, registerBackend } from '@tessera/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectBitIdentical } from './helpers/bits.js';

/** Every step split, as the conformance variant workers-split does. */
const FORCED = { inlineCost: 0, inlineGraphCost: 0, minPartCost: 0 } as const;
const POOLS = { '1+caller': { threads: 1 }, '2 alone': { threads: 2, mainShare: false } } as const;

const container = createContainer();
const pools: WorkersBackend[] = [];

beforeAll(async () => {
  for (const [name, o] of Object.entries(POOLS)) {
    const backend = createWorkersBackend({ ...o, ...FORCED });
    pools.push(backend);
    registerBackend(container, name, () => backend);
  }
  await Promise.all(pools.map((p) => p.ready()));
}, 60_000);

afterAll(() => Promise.all(pools.map((p) => p.dispose())));

/** The failing graph's shape: x -> relu -> concat(axis 3, [relu, constant]) -> 1x1 fused_conv2d. */
function reluConcatConv(batch: number, side: number): Graph {
  const g = new GraphBuilder('relu_concat_conv');
  const x = g.input('x', [batch, side, side, 1]);
  const joined = g.concat([g.relu(x), g.constant('part', randomTensor([batch, side, side, 1], 7))], { axis: 3 });
  const y = g.fusedConv2d(joined, g.constant('f', new Tensor([1, 1, 2, 1], new Float32Array([1, -3]))), g.constant('b', new Tensor([1], new Float32Array([2]))), { strides: [1, 1], padding: 'SAME' });
  return g.build({ y });
}

describe('workers tiles: concat reading a tiled value', () => {
  for (const batch of [2, 8]) {
    for (const bindIO of [false, true]) {
      it(`a chain whose tiled value concat reads gives the cpu backend's bits on every run, whoever claims which chunk (batch ${batch}, bindIO ${bindIO})`, async () => {
        const graph = reluConcatConv(batch, 3);
        const cpu = await createSession(graph, { backend: 'cpu' });
        for (const name of Object.keys(POOLS)) {
          const session = await createSession(graph, { backend: name, container, bindIO });
          // Runs on different inputs: a stale value left by the previous run would differ.
          for (let run = 0; run < 4; run++) {
            const x = randomTensor(graph.inputs[0].shape, 100 + run).data;
            const expected = (await cpu.run({ x })).y;
            expect(expected.some((v) => v !== expected[0])).toBe(true);
            expectBitIdentical((await session.run({ x })).y, expected, `${name}, run ${run}`);
          }
          session.dispose();
        }
        cpu.dispose();
      });
    }
  }
});
