/**
 * ResNet50 and MobileNetV2 (small images) on the webgl backend: every node within its bound of the
 * reference evaluated from the backend's own values of its operands (tests/networks-layerwise.ts),
 * at O0 and after O1.
 */
import '@tessera/backend-webgl';
import { randomTensor, type Graph } from '@tessera/core';
import { mobilenetV2, resnet50 } from '@tessera/examples';
import { optimize } from '@tessera/passes';
import { createSession } from '@tessera/runtime';
import { describe, expect, it } from 'vitest';
import { checkLayers, everyNodeAnOutput } from '../networks-layerwise.js';

async function webglValues(graph: Graph, x: Float32Array): Promise<Map<string, Float32Array>> {
  const session = await createSession(everyNodeAnOutput(graph), { backend: 'webgl' });
  try {
    return new Map(Object.entries(await session.run({ x })));
  } finally {
    session.dispose();
  }
}

describe('the networks on webgl', () => {
  const cases = [
    { name: 'ResNet50 36x36', build: () => resnet50({ size: 36 }) },
    { name: 'MobileNetV2 72x72', build: () => mobilenetV2({ size: 72 }) },
  ];
  it.each(cases)('$name: every node, at O0 and O1, agrees with the reference evaluated from its operands', async ({ build }) => {
    const graph = build();
    const x = randomTensor(graph.inputs[0].shape, 11).data;
    for (const g of [graph, optimize(graph, { level: 'O1' }).graph]) {
      const failed = checkLayers(g, { x }, await webglValues(g, x)).filter((c) => !c.ok);
      expect(failed.map((c) => `${c.layer}: worst ${c.worstRatio.toExponential(2)} of its bound`)).toEqual([]);
    }
  }, 300_000);
});
