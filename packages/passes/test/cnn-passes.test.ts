import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, Tensor, evaluate, randomTensor, type Graph, type Node, type SymbolicValue } from '@tessera/core';
import { PassManager, compareResults, convFusion, foldBatchNorm, foldPad, randomFeeds } from '../src/index.js';
import { passGraphArbitrary, testSeed } from './arbitrary.js';

/*
 * The real-CNN passes: batch-norm folding, pad folding and the grown fusion table, on a hand-built
 * ResNet bottleneck and MobileNet block, and as properties of the random graphs.
 */

const seed = testSeed('cnn passes');
const numRuns = Number(process.env.TESSERA_RUNS ?? 150);
const graphs = passGraphArbitrary({ minOps: 1, maxOps: 10 });

let constants = 0;
function bn(b: GraphBuilder, x: SymbolicValue, name: string): SymbolicValue {
  const c = x.shape[3];
  const k = (what: string, scale: number, offset = 0) => {
    const t = randomTensor([c], ++constants, scale);
    return b.constant(`${name}/${what}`, new Tensor([c], t.data.map((v) => v + offset)));
  };
  return b.batchNorm(x, k('mean', 0.5), k('variance', 0.2, 0.5), k('offset', 0.5), k('scale', 1), { epsilon: 1.001e-5, name });
}

function convBn(b: GraphBuilder, x: SymbolicValue, k: number, cout: number, name: string): SymbolicValue {
  const w = b.constant(`${name}/filter`, randomTensor([k, k, x.shape[3], cout], ++constants, 1 / Math.sqrt(k * k * x.shape[3])));
  const y = b.biasAdd(b.conv2d(x, w, { padding: 'SAME', name: `${name}_conv` }), b.constant(`${name}/bias`, randomTensor([cout], ++constants, 0.1)));
  return bn(b, y, `${name}_bn`);
}

/** Keras' ResNet50 bottleneck (identity shortcut): conv-bn-relu, conv-bn-relu, conv-bn, add, relu. */
function bottleneck(): Graph {
  const b = new GraphBuilder('bottleneck');
  const x = b.input('x', [1, 6, 6, 8]);
  const a = b.relu(convBn(b, x, 1, 4, 'conv2_block1_1'));
  const m = b.relu(convBn(b, a, 3, 4, 'conv2_block1_2'));
  const y = convBn(b, m, 1, 8, 'conv2_block1_3');
  return b.build({ y: b.relu(b.add(x, y, { name: 'conv2_block1_add' }), { name: 'conv2_block1_out' }) });
}

const ops = (g: Graph) => g.nodes.map((n) => n.op);

describe('a ResNet bottleneck and a MobileNet block at O1', () => {
  it('the bottleneck becomes exactly three fused_conv2d nodes, the last with the shortcut as residual; the report names the folds', () => {
    const g = bottleneck();
    const r = new PassManager().run(g, { level: 'O1', verify: true });
    expect(ops(r.graph)).toEqual(['fused_conv2d', 'fused_conv2d', 'fused_conv2d']);
    const [c1, c2, c3] = r.graph.nodes;
    expect([c1, c2, c3].map((n) => n.attrs.activation)).toEqual(['relu', 'relu', 'relu']);
    expect(c3.inputs).toHaveLength(4);
    expect(c3.inputs[3]).toBe('x');
    expect(c2.inputs[0]).toBe(c1.name);
    const folds = r.reports.find((p) => p.pass === 'fold-batch-norm')!;
    expect(folds.changes).toEqual([
      'fold-batch-norm: conv2_block1_3_conv <- conv2_block1_3_bn',
      'fold-batch-norm: conv2_block1_2_conv <- conv2_block1_2_bn',
      'fold-batch-norm: conv2_block1_1_conv <- conv2_block1_1_bn',
    ]);
    expect(r.reports.find((p) => p.pass === 'fuse')!.changes.some((c) => c.includes("add 'conv2_block1_add'") && c.includes("fused_conv2d 'conv2_block1_3_conv'"))).toBe(true);
    expect(r.verification?.ok).toBe(true);
  });

  it('a MobileNetV2 block (pad, depthwise conv, batch norms, relu6, projection, residual add) fuses into three nodes', () => {
    const b = new GraphBuilder('mobilenet');
    const x = b.input('x', [1, 5, 5, 4]);
    const expand = b.relu6(bn(b, b.conv2d(x, b.constant('e/w', randomTensor([1, 1, 4, 8], 7, 0.5)), { padding: 'SAME', name: 'expand' }), 'expand_bn'));
    const padded = b.pad(expand, { paddings: [[0, 0], [1, 1], [1, 1], [0, 0]], name: 'pad' });
    const dw = b.relu6(bn(b, b.depthwiseConv2d(padded, b.constant('d/w', randomTensor([3, 3, 8, 1], 8, 0.5)), { padding: 'VALID', name: 'depthwise' }), 'depthwise_bn'));
    const project = bn(b, b.conv2d(dw, b.constant('p/w', randomTensor([1, 1, 8, 4], 9, 0.5)), { padding: 'SAME', name: 'project' }), 'project_bn');
    const r = new PassManager().run(b.build({ y: b.add(x, project) }), { level: 'O1', verify: true });
    expect(r.graph.nodes.map((n) => [n.op, n.name, n.attrs.activation, n.inputs.length])).toEqual([
      ['fused_conv2d', 'expand', 'relu6', 3],
      ['fused_depthwise_conv2d', 'depthwise', 'relu6', 3],
      ['fused_conv2d', 'project', 'none', 4],
    ]);
    expect(r.graph.nodes[1].attrs.padding).toEqual([[1, 1], [1, 1]]);
    expect(r.reports.find((p) => p.pass === 'fold-pad')!.changes).toEqual(['fold-pad: depthwise <- pad (padding [[1,1],[1,1]])']);
    expect(r.verification?.ok).toBe(true);
  });

  it('declines what is not exact: a batch norm after a relu, a non-zero pad, a broadcast residual', () => {
    const b = new GraphBuilder('declined');
    const x = b.input('x', [1, 4, 4, 2]);
    const c = b.conv2d(x, b.constant('w', randomTensor([3, 3, 2, 2], 3, 0.5)), { padding: 'SAME', name: 'c' });
    const afterRelu = bn(b, b.relu(c), 'bn_after_relu');
    const padded = b.conv2d(b.pad(afterRelu, { paddings: [[0, 0], [1, 0], [0, 1], [0, 0]], value: 1, name: 'ones' }), b.constant('w2', randomTensor([2, 2, 2, 2], 4, 0.5)), { padding: 'VALID', name: 'c2' });
    const g = b.build({ y: b.add(padded, b.constant('per_channel', randomTensor([2], 5))) });
    const r = new PassManager().run(g, { level: 'O1' });
    expect(ops(r.graph)).toEqual(['conv2d', 'relu', 'batch_norm', 'pad', 'conv2d', 'add']);
    expect(r.reports.find((p) => p.pass === 'fold-pad')!.skipped).toEqual(["fold-pad conv2d at 'c2': pad 'ones' pads with 1, not 0"]);
  });
});

describe('batch-norm folding states its allowance', () => {
  it('for a folded 1x1 conv that is the output, the allowance is u (sum |x| |w\'| + |b\'|) per element (naive loops)', () => {
    const b = new GraphBuilder('one');
    const x = b.input('x', [1, 2, 2, 3]);
    const y = bn(b, b.conv2d(x, b.constant('w', randomTensor([1, 1, 3, 2], 41, 0.7)), { padding: 'VALID', name: 'conv' }), 'bn');
    const g = b.build({ y });
    const r = foldBatchNorm.run(g, {});
    const feeds = randomFeeds(g, 4);
    const allowance = foldBatchNorm.allowance(g, r.graph, feeds).y;
    const wf = [...r.graph.constants.entries()].find(([k]) => k.endsWith('folded_filter'))![1].data;
    const bf = [...r.graph.constants.entries()].find(([k]) => k.endsWith('folded_bias'))![1].data;
    const want = Array.from({ length: 8 }, (_, i) => {
      const [p, c] = [Math.floor(i / 2), i % 2];
      let s = Math.abs(bf[c]);
      for (let k = 0; k < 3; k++) s += Math.abs(feeds.x[p * 3 + k]) * Math.abs(wf[k * 2 + c]);
      return 2 ** -24 * s;
    });
    Array.from(allowance).forEach((a, i) => expect(a).toBeCloseTo(want[i], 20));
    expect(r.report.notes[0]).toMatch(/allowance u \(sum \|x\| \|w'\| \+ \|b'\|\)/);
    // Verify mode evaluates the folded graph with it: its bound there grows by exactly that much.
    expect(r.allowance).toBeDefined();
    const plain = evaluate(r.graph, feeds).y.bound;
    const wide = evaluate(r.graph, feeds, { widen: r.allowance }).y.bound;
    wide.forEach((w, i) => expect(w - plain[i]).toBeCloseTo(want[i], 20));
  });
});

/** Nodes of `op` whose operand 0 is produced by one of `producers`, consumed only there, not an output. */
function chained(g: Graph, op: string, producers: readonly string[], extra: (n: Node, p: Node) => boolean = () => true): Node[] {
  return g.nodes.filter((n) => {
    const p = n.op === op ? g.producer(n.inputs[0]) : undefined;
    return p !== undefined && producers.includes(p.op) && g.consumers(p.name).length === 1 && !g.isOutput(p.name) && extra(n, p);
  });
}

const constantOperands = (g: Graph, n: Node, from: number) => n.inputs.slice(from).every((i) => g.kind(i) === 'constant');

describe('the real-CNN passes on random graphs', () => {
  it('fold-batch-norm leaves no batch_norm with constant statistics after a product with constant weights and no activation', () => {
    fc.assert(
      fc.property(graphs, ({ graph }) => {
        const after = foldBatchNorm.run(graph, {}).graph;
        const foldable = chained(after, 'batch_norm', ['conv2d', 'depthwise_conv2d', 'matmul'], (n, p) => constantOperands(after, n, 1) && after.kind(p.inputs[1]) === 'constant');
        expect(foldable.map((n) => n.name)).toEqual([]);
      }),
      { seed, numRuns },
    );
  });

  it('fold-pad leaves no zero H / W pad feeding a conv or depthwise conv alone', () => {
    fc.assert(
      fc.property(graphs, ({ graph }) => {
        const after = foldPad.run(graph, {}).graph;
        const zeroPad = (p: Node) => (p.attrs as { value: number }).value === 0 && (p.attrs as { paddings: number[][] }).paddings[3].every((v) => v === 0);
        const left = after.nodes.filter((n) => /conv2d$/.test(n.op) && after.producer(n.inputs[0])?.op === 'pad' && zeroPad(after.producer(n.inputs[0])!) && after.consumers(n.inputs[0]).length === 1 && !after.isOutput(n.inputs[0]));
        expect(left.map((n) => n.name)).toEqual([]);
      }),
      { seed, numRuns },
    );
  });

  it('after fuse, no bias_add, relu6 or output-shaped add is left directly on an exclusive product', () => {
    fc.assert(
      fc.property(graphs, ({ graph }) => {
        const after = convFusion.run(graph, {}).graph;
        const left = [
          ...chained(after, 'bias_add', ['conv2d', 'depthwise_conv2d', 'matmul']),
          ...chained(after, 'relu6', ['fused_conv2d', 'fused_depthwise_conv2d', 'fused_matmul'], (_n, p) => p.attrs.activation === 'none'),
          ...chained(after, 'add', ['conv2d'], (n) => after.value(n.inputs[1]).shape.join() === n.output.shape.join()),
        ];
        expect(left.map((n) => n.name)).toEqual([]);
      }),
      { seed, numRuns },
    );
  });

  it('fold-batch-norm, fold-pad and fuse each agree with the reference (verify mode) on random graphs', () => {
    const pm = new PassManager();
    fc.assert(
      fc.property(graphs, ({ graph }) => {
        const r = pm.run(graph, { passes: ['fold-batch-norm', 'fold-pad', 'fuse'], verify: { seed: 5, samples: 2 } });
        if (!r.verification?.ok) throw new Error(JSON.stringify(r.verification));
        const feeds = randomFeeds(graph, 9);
        expect(compareResults(evaluate(graph, feeds), evaluate(r.graph, feeds)).ok).toBe(true);
      }),
      { seed, numRuns: Math.ceil(numRuns / 2) },
    );
  });
});
