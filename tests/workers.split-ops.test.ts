/**
 * Issue 22's ops on the workers backend with every step split across threads (`workers-split`):
 * the conformance suite's cases of each op, and chains over them, give the cpu backend's bits
 * and stay within the reference's bounds. The conformance suite's own workers run checks the
 * bounds only; here the ranges really differ per thread and the bits are compared.
 *
 * Replay: TESSERA_SEED=<n> runs another seed.
 */
import { opCaseArbitrary } from '@tessera/conformance';
import { GraphBuilder, randomTensor, Tensor, type Graph } from '@tessera/core';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { expectBackendsAgree, useSplitWorkers } from './helpers/split-workers.js';
import { mobilenetBlock } from './helpers/mobilenet-block.js';

const SEED = process.env.TESSERA_SEED !== undefined ? Number(process.env.TESSERA_SEED) : 0x5b117;
/** Cases per op: each compiles two sessions. */
const CASES = 12;
const OPS = ['depthwise_conv2d', 'fused_depthwise_conv2d', 'batch_norm', 'avg_pool', 'add', 'mul', 'pad', 'concat', 'mean', 'softmax'] as const;

const container = useSplitWorkers();

describe('issue 22 ops, every step split over 2 workers and the calling thread', () => {
  for (const op of OPS) {
    it(`${op}: split workers give the cpu backend's bits on the conformance cases, within the reference bounds`, async () => {
      const cases = fc.sample(opCaseArbitrary(op), { numRuns: CASES, seed: SEED });
      for (const [i, c] of cases.entries()) await expectBackendsAgree(container, c.graph, c.feeds, `${op} case ${i} (seed ${SEED})`, true);
    }, 120_000);
  }

  /** Batch-2 graphs whose steps chain (element-wise, row-wise and item-wise followers of the new ops). */
  const CHAINS: [string, () => Graph][] = [
    ['MobileNet block, batch 2', () => mobilenetBlock({ batch: 2, size: 10, channels: 5, expansion: 6 })],
    ['MobileNet block, batch 1, fused depthwise', () => mobilenetBlock({ batch: 1, size: 13, channels: 7, expansion: 4, fused: true })],
    ['conv -> pad -> depthwise (stride 2) -> avg_pool -> concat -> mean -> softmax', () => {
      const g = new GraphBuilder('chain');
      const c = g.conv2d(g.input('x', [2, 9, 9, 3]), g.constant('f', randomTensor([3, 3, 3, 6], 1)), { padding: 'SAME' });
      const p = g.pad(c, { paddings: [[0, 0], [1, 0], [0, 1], [0, 0]] });
      const d = g.depthwiseConv2d(p, g.constant('dw', randomTensor([3, 3, 6, 2], 2)), { strides: [2, 2], padding: 'SAME' });
      const a = g.avgPool(d, { ksize: [2, 2], strides: [1, 1], padding: 'SAME' });
      const j = g.concat([a, g.constant('k', randomTensor([2, 5, 5, 3], 3))], { axis: 3 });
      return g.build({ y: g.softmax(g.mean(j, { axes: [1, 2] })) });
    }],
    ['batch_norm -> mul -> add with broadcast operands', () => {
      const g = new GraphBuilder('chain');
      const x = g.input('x', [3, 6, 6, 7]);
      const stat = (s: number) => g.constant(`s${s}`, new Tensor([7], randomTensor([7], s).data.map(Math.abs)));
      const bn = g.batchNorm(x, stat(1), stat(2), stat(3), stat(4));
      return g.build({ y: g.add(g.mul(bn, g.constant('m', randomTensor([6, 1, 7], 5))), x) });
    }],
  ];
  for (const [label, make] of CHAINS) {
    it(`${label}: split workers give the cpu backend's bits, within the reference bounds`, async () => {
      const graph = make();
      const feeds = Object.fromEntries(graph.inputs.map((v, i) => [v.name, randomTensor(v.shape, 40 + i).data]));
      await expectBackendsAgree(container, graph, feeds, label, true);
    }, 120_000);
  }
});
