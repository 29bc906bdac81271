/**
 * A maxpool step heads a chain: its units are output pixels, each written with all its channels,
 * so a 1x1 conv after it (ResNet-50's pool1 -> conv2_block1_1) runs on the same rows in the same
 * dispatch. Checked against the cpu backend's bits on a pool that splits every step.
 */
import '@tessera/backend-cpu';
import { createWorkersBackend, type WorkersBackend } from '@tessera/backend-workers';
import { GraphBuilder, randomTensor } from '@tessera/core';
import { createContainer, createSession, registerBackend } from '@tessera/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectBitIdentical } from './helpers/bits.js';

const container = createContainer();
let backend: WorkersBackend;

beforeAll(async () => {
  backend = createWorkersBackend({ threads: 1, inlineCost: 0, inlineGraphCost: 0, minPartCost: 0 });
  registerBackend(container, 'split', () => backend);
  await backend.ready();
}, 60_000);

afterAll(() => backend.dispose());

describe('workers chains: maxpool head', () => {
  it('maxpool -> 1x1 conv runs as one chain and gives the cpu backend\'s bits (batch 1, every step split)', async () => {
    const g = new GraphBuilder('pool_conv');
    const p = g.maxpool(g.input('x', [1, 15, 15, 8]), { ksize: [3, 3], strides: [2, 2], padding: 'SAME' });
    const graph = g.build({ y: g.conv2d(p, g.constant('f', randomTensor([1, 1, 8, 16], 1)), { strides: [1, 1], padding: 'VALID' }) });
    const x = randomTensor(graph.inputs[0].shape, 2).data;
    const cpu = await createSession(graph, { backend: 'cpu' });
    const split = await createSession(graph, { backend: 'split', container });
    const expected = (await cpu.run({ x })).y;
    for (let run = 0; run < 3; run++) expectBitIdentical((await split.run({ x })).y, expected, `run ${run}`);
    // Profiled runs dispatch step by step: one dispatch for the chain, not two.
    const profiled = await createSession(graph, { backend: 'split', container, profile: true });
    const at = await backend.testHooks.dispatchedSteps();
    expectBitIdentical((await profiled.run({ x })).y, expected, 'profiled');
    expect((await backend.testHooks.dispatchedSteps()) - at).toBe(1);
    for (const s of [cpu, split, profiled]) s.dispose();
  });
});
