import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tessera/backend-cpu';
import { evaluateAll, randomTensor, summarize, type Graph } from '@tessera/core';
import { mobilenetV2, resnet50, workload, workloadGraph } from '@tessera/examples';
import { optimize } from '@tessera/passes';
import { createSession } from '@tessera/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkLayers, everyNodeAnOutput, type LayerCheck } from './networks-layerwise.js';
import { mobilenetV2Tfjs, resnet50Tfjs } from './networks-tfjs.js';

const count = (g: Graph, op: string) => g.nodes.filter((n) => n.op === op).length;

/** Every node's value on the cpu backend, by node name. */
async function cpuValues(graph: Graph, x: Float32Array): Promise<Map<string, Float32Array>> {
  const session = await createSession(everyNodeAnOutput(graph), { backend: 'cpu' });
  try {
    return new Map(Object.entries(await session.run({ x })));
  } finally {
    session.dispose();
  }
}

/** The Keras-layer outputs of the network written in tfjs ops, with the graph's weights by their Keras names. */
function tfjsLayers(graph: Graph, x: Float32Array, net: typeof resnet50Tfjs): Map<string, Float32Array> {
  const weights = new Map([...graph.constants].map(([name, t]) => [name, tf.tensor(t.data, [...t.shape])]));
  const input = tf.tensor4d(x, graph.inputs[0].shape as [number, number, number, number]);
  try {
    return net(input, (name) => weights.get(name) ?? assertNever(`no weight '${name}' in graph '${graph.name}'`));
  } finally {
    input.dispose();
    weights.forEach((t) => t.dispose());
  }
}
const assertNever = (message: string): never => {
  throw new Error(message);
};

function expectAllWithin(checks: readonly LayerCheck[]): void {
  const failed = checks.filter((c) => !c.ok).map((c) => `${c.layer} (worst ${c.worstRatio.toExponential(2)} of its bound, ${c.failures} elements)`);
  expect(failed).toEqual([]);
}

/** Softmax rows: finite, summing to 1, and far from uniform (the weights make the logits spread). */
function expectPlausibleProbabilities(p: Float32Array, classes: number): void {
  expect(p.every(Number.isFinite)).toBe(true);
  for (let r = 0; r < p.length / classes; r++) {
    const row = p.subarray(r * classes, (r + 1) * classes);
    expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 4);
    expect(Math.max(...row) / Math.min(...row)).toBeGreaterThan(10);
    expect(Math.max(...row)).toBeLessThan(0.9);
  }
}

describe('ResNet50 and MobileNetV2 as Keras builds them (tf.keras.applications)', () => {
  it("ResNet50 at 224x224x3 and 1000 classes has Keras' 25,636,712 parameters: 53 conv2d, 53 batch norms, 16 adds, output [1, 1000]", () => {
    const g = resnet50();
    expect(summarize(g).totalParams).toBe(25_636_712);
    expect([count(g, 'conv2d'), count(g, 'batch_norm'), count(g, 'add'), count(g, 'maxpool'), count(g, 'pad')]).toEqual([53, 53, 16, 1, 2]);
    expect(g.value(g.outputs.predictions).shape).toEqual([1, 1000]);
  });

  it("MobileNetV2 (alpha 1.0) at 224x224x3 and 1000 classes has Keras' 3,538,984 parameters: 35 conv2d, 17 depthwise, 52 batch norms, 10 adds, 4 pads", () => {
    const g = mobilenetV2();
    expect(summarize(g).totalParams).toBe(3_538_984);
    expect([count(g, 'conv2d'), count(g, 'depthwise_conv2d'), count(g, 'batch_norm'), count(g, 'add'), count(g, 'pad')]).toEqual([35, 17, 52, 10, 4]);
    expect(g.value(g.outputs.predictions).shape).toEqual([1, 1000]);
  });

  it('the builders take batch, size and classes, and their weights are deterministic per seed', () => {
    const g = resnet50({ batch: 2, size: 64, classes: 10 });
    expect(g.inputs[0].shape).toEqual([2, 64, 64, 3]);
    expect(g.value(g.outputs.predictions).shape).toEqual([2, 10]);
    const kernel = (seed: number) => mobilenetV2({ size: 32, seed }).constants.get('block_3_depthwise/depthwise_kernel')!.data;
    expect(kernel(5)).toEqual(kernel(5));
    expect(kernel(5)).not.toEqual(kernel(6));
  });

  // Small images keep the float64 reference quick; the odd sizes take both of correct_pad's cases
  // (MobileNetV2 72 -> 36 -> 18 -> 9 -> 5 -> 3) and ResNet's strided 1x1 convs on an odd size (28 -> 14 -> 7 -> 4 -> 2 -> 1).
  const cases = [
    { name: 'ResNet50', build: () => resnet50({ size: 28 }), tfjs: resnet50Tfjs },
    { name: 'MobileNetV2', build: () => mobilenetV2({ size: 72, batch: 2 }), tfjs: mobilenetV2Tfjs },
  ];
  describe.each(cases)('$name at a small size', ({ build, tfjs }) => {
    let graph: Graph;
    let x: Float32Array;
    beforeAll(async () => {
      await tf.setBackend('cpu');
      graph = build();
      x = randomTensor(graph.inputs[0].shape, 11).data;
    });

    it('on cpu, at O0 and O1, every node agrees with the reference evaluated from its operands (within its bound), and the probabilities are plausible', async () => {
      for (const g of [graph, optimize(graph, { level: 'O1' }).graph]) {
        const values = await cpuValues(g, x);
        expectAllWithin(checkLayers(g, { x }, values));
        expectPlausibleProbabilities(values.get(g.outputs.predictions)!, 1000);
      }
    }, 90_000);

    it('the same network written in tfjs ops from Keras\' architecture agrees with the reference layer by layer (every Keras layer within its bound)', () => {
      const layers = tfjsLayers(graph, x, tfjs);
      const checks = checkLayers(graph, { x }, layers, (node) => node.split('/')[0]);
      expect(checks.map((c) => c.layer).sort()).toEqual([...layers.keys()].sort());
      expectAllWithin(checks);
    }, 60_000);
  });
});

describe('W3, the ResNet-50 bottleneck block', () => {
  it('has its identity shortcut: y = relu(block(x) + x)', () => {
    const g = workloadGraph({ ...workload('W3'), input: [1, 6, 6, 256] });
    const out = g.producer(g.outputs.y)!;
    expect(out.op).toBe('relu');
    const sum = g.producer(out.inputs[0])!;
    expect(sum.op).toBe('add');
    expect(sum.inputs).toContain('x');
    const x = randomTensor([1, 6, 6, 256], 3).data;
    const values = evaluateAll(g, { x });
    const branch = values.get(sum.inputs.find((i) => i !== 'x')!)!.value;
    const y = values.get(out.name)!.value;
    for (let i = 0; i < y.length; i++) expect(y[i]).toBeCloseTo(Math.max(branch[i] + x[i], 0), 12);
  });
});
