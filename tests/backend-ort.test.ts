/**
 * ONNX Runtime behind Tessera's API: 'ort' (native) and 'ort-web' (WebAssembly) run example
 * graphs within the float64 reference's bound, with Tessera's NHWC feeds and results (the
 * exported model is NCHW inside), and a disposed session refuses to run.
 */
import '@tessera/backend-ort';
import { evaluate, randomTensor } from '@tessera/core';
import { bottleneckBlock, seedCnn } from '@tessera/examples';
import { createSession } from '@tessera/runtime';
import { describe, expect, it } from 'vitest';

describe('backend-ort', () => {
  for (const backend of ['ort', 'ort-web']) {
    it(`${backend}: the seed CNN at batch 3 and the ResNet bottleneck block agree with the reference within the bound`, async () => {
      for (const graph of [seedCnn({ batch: 3 }), bottleneckBlock()]) {
        const session = await createSession(graph, { backend });
        const x = graph.inputs[0];
        const feeds = { [x.name]: randomTensor(x.shape, 9).data };
        const out = await session.run(feeds);
        for (const [name, ref] of Object.entries(evaluate(graph, feeds))) {
          const y = out[name];
          expect(y.length).toBe(ref.value.length);
          let worst = 0;
          for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i] - ref.value[i]) / ref.bound[i]);
          expect(worst, `${graph.name} ${name}`).toBeLessThanOrEqual(1);
        }
        session.dispose();
        await expect(session.run(feeds)).rejects.toThrow(/disposed/);
      }
    }, 60_000);
  }
});
