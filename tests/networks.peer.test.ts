import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { compareToReference, evaluate, GraphBuilder, OPS, randomTensor, Tensor, type Graph } from '@tessera/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { tfjsGraph } from '../benchmarks/peers/tfjs-graph.js';

/** The benchmark peer's output for `graph` on tfjs-cpu. */
function peer(graph: Graph, x: Float32Array): Float32Array {
  const { forward, dispose } = tfjsGraph(graph);
  const y = tf.tidy(() => forward(tf.tensor(x, [...graph.inputs[0].shape])));
  const out = Float32Array.from(y.dataSync());
  y.dispose();
  dispose();
  return out;
}

/** One small graph per branch of the peer: every op of the table, fused ones with each activation and explicit padding. */
function graphs(): Graph[] {
  const out: Graph[] = [];
  const conv = (op: 'fused_conv2d' | 'fused_depthwise_conv2d', activation: string, padding: unknown) => {
    const g = new GraphBuilder(`${op}-${activation}`);
    const x = g.input('x', [1, 7, 7, 4]);
    const f = g.constant('f', randomTensor(op === 'fused_conv2d' ? [3, 3, 4, 5] : [3, 3, 4, 1], 2, 2));
    const b = g.constant('b', randomTensor([op === 'fused_conv2d' ? 5 : 4], 3, 2));
    out.push(g.build({ y: g.op(op, [x, f, b], { strides: [2, 2], padding, activation } as never) }));
  };
  for (const op of ['fused_conv2d', 'fused_depthwise_conv2d'] as const) {
    for (const a of ['none', 'relu', 'relu6']) conv(op, a, a === 'relu6' ? [[0, 1], [0, 1]] : 'SAME');
  }

  const g = new GraphBuilder('the other ops');
  const x = g.input('x', [2, 6, 6, 3]);
  const c = (name: string, shape: number[], seed: number) => g.constant(name, randomTensor(shape, seed, 1));
  let y = g.depthwiseConv2d(g.conv2d(x, c('w', [3, 3, 3, 4], 1), { padding: [[1, 0], [0, 1]] }), c('d', [3, 3, 4, 2], 2), { padding: 'SAME' });
  y = g.relu6(g.batchNorm(y, c('m', [8], 3), g.constant('v', new Tensor([8], randomTensor([8], 4, 0.5).data.map((v) => v + 1))), c('o', [8], 5), c('s', [8], 6), { epsilon: 1e-3 }));
  y = g.concat([g.mul(y, c('k', [8], 7)), g.add(y, y)], { axis: 3 });
  y = g.avgPool(g.pad(g.maxpool(y, { ksize: [2, 2], strides: [1, 1], padding: 'SAME' }), { paddings: [[0, 0], [1, 1], [0, 1], [0, 0]] }), { ksize: [3, 3], strides: [2, 2], padding: 'VALID' });
  y = g.slice(g.relu(g.transpose(y, [0, 2, 1, 3])), { begin: [0, 0, 0, 0], size: [2, 2, 2, 8], strides: [1, 1, 1, 2] });
  const flat = g.reshape(g.mean(y, { axes: [1], keepdims: false }), [2, 16]);
  const logits = g.fusedMatmul(flat, c('fw', [16, 5], 8), c('fb', [5], 9), { activation: 'none' });
  out.push(g.build({ y: g.softmax(g.biasAdd(g.matmul(logits, c('m2', [5, 5], 10)), c('b2', [5], 11))) }));
  return out;
}

describe('the benchmark peer (benchmarks/peers/tfjs-graph.ts)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('covers every op of the op table', () => {
    const used = new Set(graphs().flatMap((g) => g.nodes.map((n) => n.op)));
    expect(Object.keys(OPS).filter((op) => !used.has(op))).toEqual([]);
  });

  it.each(graphs().map((g) => [g.name, g] as const))('%s: tfjs computes what the reference does, within its bound', (_, graph) => {
    // Inputs up to 4 in size, so relu6 clips somewhere.
    const x = randomTensor(graph.inputs[0].shape, 12, 4).data;
    const c = compareToReference(peer(graph, x), evaluate(graph, { x }).y);
    expect(c.ok, `worst ${c.worstRatio} of the bound at ${c.worstIndex}`).toBe(true);
  });
});
