import { GraphBuilder, randomTensor, type Graph } from '@tessera/core';

/** Ops of a graph's nodes, in order. */
export const ops = (g: Graph): string[] => g.nodes.map((n) => n.op);

/** x [1,6,6,3] -> conv 3x3 (3 -> 4) SAME -> bias_add -> relu, with hooks to add other consumers / outputs. */
export function convChain(extra: (b: GraphBuilder, v: { conv: ReturnType<GraphBuilder['conv2d']>; bias: ReturnType<GraphBuilder['biasAdd']>; relu: ReturnType<GraphBuilder['relu']> }) => Record<string, ReturnType<GraphBuilder['relu']>> = () => ({})): Graph {
  const b = new GraphBuilder('chain');
  const x = b.input('x', [1, 6, 6, 3]);
  const conv = b.conv2d(x, b.constant('w', randomTensor([3, 3, 3, 4], 1, 0.3)), { padding: 'SAME', name: 'conv' });
  const bias = b.biasAdd(conv, b.constant('b', randomTensor([4], 2, 0.1)), { name: 'bias' });
  const relu = b.relu(bias, { name: 'relu' });
  return b.build({ y: relu, ...extra(b, { conv, bias, relu }) });
}
