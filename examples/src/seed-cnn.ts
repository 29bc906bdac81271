import { GraphBuilder, randomTensor, type Graph } from '@tessera/core';

/**
 * The seed CNN: 28x28x1 -> conv 3x3x1x64 SAME + bias + relu -> maxpool 2x2/2 -> 12544
 * features -> fully connected to 10 class scores. Weights are deterministic pseudo-random
 * values (scaled by 2/sqrt(fan-in), biases in [-0.1, 0.1]), the same everywhere. `batch: null`
 * leaves the batch open (one graph for any batch).
 */
export function seedCnn({ batch = 1 as number | null, seed = 1 } = {}): Graph {
  const g = new GraphBuilder('seed-cnn');
  const x = g.input('x', [batch, 28, 28, 1]);
  const w1 = g.constant('conv1/filter', randomTensor([3, 3, 1, 64], seed, 2 / Math.sqrt(9)));
  const b1 = g.constant('conv1/bias', randomTensor([64], seed + 1, 0.1));
  const w2 = g.constant('fc/weights', randomTensor([12544, 10], seed + 2, 2 / Math.sqrt(12544)));
  const b2 = g.constant('fc/bias', randomTensor([10], seed + 3, 0.1));

  const conv = g.conv2d(x, w1, { strides: [1, 1], padding: 'SAME', name: 'conv1' });
  const act = g.relu(g.biasAdd(conv, b1, { name: 'conv1/bias_add' }), { name: 'conv1/relu' });
  const pool = g.maxpool(act, { ksize: [2, 2], strides: [2, 2], padding: 'VALID', name: 'pool1' });
  const flat = g.reshape(pool, [batch ?? -1, 12544], { name: 'flatten' });
  const logits = g.biasAdd(g.matmul(flat, w2, { name: 'fc' }), b2, { name: 'fc/bias_add' });
  return g.build({ logits });
}
