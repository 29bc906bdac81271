/**
 * Graphs the CNN passes produce (fused convs with relu6 and with a residual operand, folded batch
 * norms and pads) run on cpu and on workers with every step split: both within the reference's
 * bounds and bit for bit equal (the residual is added per row, in the same order on any split).
 */
import { GraphBuilder, Tensor, randomTensor, type SymbolicValue } from '@tessera/core';
import { optimize, randomFeeds } from '@tessera/passes';
import { describe, expect, it } from 'vitest';
import { expectBackendsAgree, useSplitWorkers } from './helpers/split-workers.js';

const container = useSplitWorkers();

let seed = 0;
const weights = (b: GraphBuilder, name: string, shape: number[], scale: number) => b.constant(name, randomTensor(shape, ++seed, scale));

function bn(b: GraphBuilder, x: SymbolicValue, name: string): SymbolicValue {
  const c = x.shape[3];
  const variance = b.constant(`${name}/variance`, new Tensor([c], randomTensor([c], ++seed, 0.4).data.map((v) => 0.6 + v)));
  return b.batchNorm(x, weights(b, `${name}/mean`, [c], 0.3), variance, weights(b, `${name}/offset`, [c], 0.3), weights(b, `${name}/scale`, [c], 1.5), { name });
}

/** Two bottleneck blocks on a batch of 2 (identity shortcut, then a projection shortcut), and a padded relu6 head. */
function network() {
  const b = new GraphBuilder('residual-net');
  const x = b.input('x', [2, 9, 9, 8]);
  const block = (input: SymbolicValue, mid: number, out: number, name: string, project: boolean) => {
    const c1 = b.relu(bn(b, b.conv2d(input, weights(b, `${name}/w1`, [1, 1, input.shape[3], mid], 0.4), { padding: 'SAME' }), `${name}_bn1`));
    const c2 = b.relu(bn(b, b.conv2d(c1, weights(b, `${name}/w2`, [3, 3, mid, mid], 0.2), { padding: 'SAME' }), `${name}_bn2`));
    const c3 = bn(b, b.conv2d(c2, weights(b, `${name}/w3`, [1, 1, mid, out], 0.4), { padding: 'SAME' }), `${name}_bn3`);
    const shortcut = project ? bn(b, b.conv2d(input, weights(b, `${name}/ws`, [1, 1, input.shape[3], out], 0.4), { padding: 'SAME' }), `${name}_bns`) : input;
    return b.relu(b.add(c3, shortcut));
  };
  const y = block(block(x, 4, 8, 'block1', false), 4, 12, 'block2', true);
  const padded = b.pad(y, { paddings: [[0, 0], [1, 1], [1, 1], [0, 0]] });
  const head = b.relu6(bn(b, b.conv2d(padded, weights(b, 'head/w', [3, 3, 12, 5], 0.3), { padding: 'VALID' }), 'head_bn'));
  return b.build({ y: head, block: y });
}

describe('fused convs with a residual and relu6 on cpu and split workers', () => {
  it('the optimized residual network agrees with the reference on both, bit for bit', async () => {
    const g = network();
    const r = optimize(g, { level: 'O1', verify: true });
    expect(r.verification?.ok).toBe(true);
    const residuals = r.graph.nodes.filter((n) => n.op === 'fused_conv2d' && n.inputs.length === 4);
    expect(residuals.map((n) => n.attrs.activation)).toEqual(['relu', 'relu']);
    expect(r.graph.nodes.map((n) => n.op)).toEqual(Array(8).fill('fused_conv2d')); // 3 + 4 (projection) + the head
    expect(r.graph.producer(r.graph.outputs.y)!.attrs).toMatchObject({ activation: 'relu6', padding: [[1, 1], [1, 1]] });
    await expectBackendsAgree(container, r.graph, randomFeeds(r.graph, 3), 'residual network', true);
  }, 120_000);
});
