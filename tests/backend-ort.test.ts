/**
 * ONNX Runtime behind Tessera's API: 'ort' (native) and 'ort-web' (WebAssembly) run example
 * graphs within the float64 reference's bound, with Tessera's NHWC feeds and results (the
 * exported model is NCHW inside), and a disposed session refuses to run. Where ONNX Runtime's own
 * behaviour differs from TensorFlow's, the backend exports around it (`exactEdgeCases`): checked here.
 */
import '@tessera/backend-ort';
import { evaluate, GraphBuilder, randomTensor, Tensor } from '@tessera/core';
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

  it("ort: a NaN weight over a conv's padding gives NaN at the border, as TensorFlow (ONNX Runtime's depthwise kernel skips padded taps)", async () => {
    const g = new GraphBuilder('nan-weight');
    const x = g.input('x', [1, 3, 3, 4]);
    const w = randomTensor([3, 3, 4, 1], 2);
    w.data[0] = NaN; // tap (0, 0) of channel 0: over the padding for the top-left output pixel only
    const graph = g.build({ y: g.depthwiseConv2d(x, g.constant('w', w), { strides: [1, 1], padding: 'SAME' }) });
    const session = await createSession(graph, { backend: 'ort' });
    const feeds = { x: randomTensor([1, 3, 3, 4], 3).data };
    const y = (await session.run(feeds)).y;
    const ref = evaluate(graph, feeds).y.value;
    // Channel 0 is NaN wherever tap (0, 0) lands (every pixel); the other channels are finite.
    for (let i = 0; i < y.length; i++) expect(Number.isNaN(y[i]), `element ${i}`).toBe(Number.isNaN(ref[i]));
    expect(Number.isNaN(y[0])).toBe(true);
    session.dispose();
  });

  it('ort: pad then a 1x1 average pool runs (ONNX Runtime would fold the pad into the pool and refuse it)', async () => {
    const g = new GraphBuilder('pad-avg');
    const x = g.input('x', [1, 2, 2, 3]);
    const p = g.pad(x, { paddings: [[0, 0], [1, 1], [1, 1], [0, 0]] });
    const graph = g.build({ y: g.avgPool(p, { ksize: [1, 1], strides: [1, 1], padding: 'VALID' }) });
    const session = await createSession(graph, { backend: 'ort' });
    const feeds = { x: Float32Array.from({ length: 12 }, (_, i) => i + 1) };
    const y = (await session.run(feeds)).y;
    expect(Array.from(y)).toEqual(Array.from(evaluate(graph, feeds).y.value));
    session.dispose();
  });

  it('ort: a max pool window holding a NaN gives NaN, as TensorFlow (ONNX Runtime skips NaN)', async () => {
    const g = new GraphBuilder('nan-max');
    const graph = g.build({ y: g.maxpool(g.input('x', [1, 2, 4, 1]), { ksize: [2, 2], strides: [2, 2], padding: 'VALID' }) });
    const session = await createSession(graph, { backend: 'ort' });
    const y = (await session.run({ x: Float32Array.from([1, NaN, 3, -4, 5, 6, 7, Infinity]) })).y;
    expect(Array.from(y)).toEqual([NaN, Infinity]);
    session.dispose();
  });

  it('ort: batch_norm is (x - mean) * a + offset: an infinite scale gives an infinity where x is 0, not NaN', async () => {
    const g = new GraphBuilder('bn-inf');
    const c = (name: string, values: number[]) => g.constant(name, new Tensor([2], values));
    const bn = g.batchNorm(g.input('x', [1, 2]), c('mean', [-0.5, 0.5]), c('variance', [1, 1]), c('offset', [0, 0]), c('scale', [-Infinity, 2]));
    const session = await createSession(g.build({ y: bn }), { backend: 'ort' });
    const y = (await session.run({ x: Float32Array.from([0, 0]) })).y;
    expect(y[0]).toBe(-Infinity);
    session.dispose();
  });
});
