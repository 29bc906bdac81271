/*
 * pnpm test:heavy: every example network exported to ONNX runs in ONNX Runtime (node, CPU) and
 * each of its nodes agrees with the float64 reference evaluated from its operands (within the
 * bound, as in onnx.export.test.ts), and the import of the export, run on cpu, is the same network
 * node by node. One run each.
 */
import '@tessera/backend-cpu';
import { randomTensor, type Graph } from '@tessera/core';
import { mobilenetV2, resnet50, seedCnn, WORKLOADS, workloadGraph } from '@tessera/examples';
import { exportOnnx, importOnnx } from '@tessera/onnx';
import { createSession } from '@tessera/runtime';
import { describe, expect, it } from 'vitest';
import { runInOrt } from '../packages/onnx/test/ort.js';
import { checkLayers, everyNodeAnOutput } from './networks-layerwise.js';

/*
 * The float64 reference sets the pace (about 4 M multiply-accumulates a second here, for each of
 * the two checks): W3 gets the ONNX Runtime check only, ResNet-50 runs at 32x32 and MobileNetV2 at
 * 112x112, and W4-1024 (1.07 G MACs, a quarter of an hour) is left out.
 */
const nets: [string, () => Graph, { importCheck: boolean }][] = [
  ['seed CNN', () => seedCnn(), { importCheck: true }],
  ...WORKLOADS.filter((w) => !('network' in w) && w.id !== 'W4-1024').map((w): [string, () => Graph, { importCheck: boolean }] => [w.id, () => workloadGraph(w), { importCheck: w.id !== 'W3' }]),
  ['W6 (ResNet-50) at 32x32', () => resnet50({ size: 32 }), { importCheck: true }],
  ['W7 (MobileNetV2) at 112x112', () => mobilenetV2({ size: 112 }), { importCheck: true }],
];

describe('every example network through ONNX', () => {
  it.each(nets)('%s: ONNX Runtime runs the export, every node within the reference bound; the import of the export computes the same nodes on cpu', async (_, build, { importCheck }) => {
    const g = build();
    const feeds = Object.fromEntries(g.inputs.map((v, k) => [v.name, randomTensor(v.shape, 5 + k).data]));
    const ort = await runInOrt(everyNodeAnOutput(g), feeds);
    const failed = checkLayers(g, feeds, ort).filter((c) => !c.ok);
    expect(failed.map((c) => `${c.layer}: worst ${c.worstRatio.toExponential(2)}`)).toEqual([]);

    // The import keeps node names: each of g's nodes, computed by the import on cpu, agrees with
    // g's reference evaluated from the import's operand values (so the import is g, layer by layer).
    if (!importCheck) return;
    const back = importOnnx(exportOnnx(g), { layout: 'NHWC' });
    const session = await createSession(everyNodeAnOutput(back), { backend: 'cpu' });
    try {
      const computed = await session.run(feeds);
      const values = new Map(g.nodes.map((n) => [n.name, computed[n.name]]));
      const wrong = checkLayers(g, feeds, values).filter((c) => !c.ok);
      expect(wrong.map((c) => `${c.layer}: worst ${c.worstRatio.toExponential(2)}`)).toEqual([]);
    } finally {
      session.dispose();
    }
  }, 900_000);
});
