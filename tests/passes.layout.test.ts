import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { GraphBuilder, Tensor, evaluate, prng, type Graph, type SymbolicValue } from '@tessera/core';
import { GRAPH_OPS, graphArbitrary } from '@tessera/conformance';
import { PassManager, compareResults, layout } from '@tessera/passes';
import { insertTransposePairs, removableTransposes } from './helpers/layout.js';

/*
 * The layout pass on the conformance suite's random graphs: with transpose pairs inserted (and
 * layout-agnostic ops between them) every inserted transpose goes; on graphs that draw transposes
 * themselves, results never change beyond the float32 bound and no transpose is left whose removal
 * is exact. And the converted CNN: an NHWC network behind an NCHW interface keeps transposes only
 * at the interface.
 */

const runs = Number(process.env.TESSERA_RUNS ?? 100);
const withoutTransposes = graphArbitrary({ minOps: 1, maxOps: 10, ops: GRAPH_OPS.filter((o) => o !== 'transpose') });
const withTransposes = graphArbitrary({ minOps: 1, maxOps: 12 });

function expectSameResults(before: Graph, after: Graph, feeds: Record<string, Float32Array>): void {
  const c = compareResults(evaluate(before, feeds), evaluate(after, feeds));
  expect(c.mismatch).toBeUndefined();
}

const transposes = (g: Graph) => g.nodes.filter((n) => n.op === 'transpose');

describe('layout pass on random graphs', () => {
  test.prop([withoutTransposes, fc.nat(), fc.integer({ min: 1, max: 4 })], { numRuns: runs, seed: 0x1a7 })(
    'transpose pairs inserted on random edges (relu, relu6, scalar mul, constant add, bias_add between) all cancel, results within the float32 bound',
    ({ graph, feeds }, seed, count) => {
      const inserted = insertTransposePairs(graph, seed, count);
      const r = layout.run(inserted, {});
      expect(transposes(r.graph).map((n) => n.name)).toEqual([]);
      expectSameResults(inserted, r.graph, feeds);
    },
  );

  test.prop([withTransposes], { numRuns: runs, seed: 0x1a8 })(
    'on graphs that draw transposes (NCHW <-> NHWC pairs, random perms) the pass never changes results beyond rounding and leaves no transpose whose removal is exact',
    ({ graph, feeds }) => {
      const r = layout.run(graph, {});
      expect(removableTransposes(r.graph)).toEqual([]);
      expect(transposes(r.graph).length).toBeLessThanOrEqual(transposes(graph).length);
      expectSameResults(graph, r.graph, feeds);
    },
  );
});

describe('a converted CNN', () => {
  function constant(g: GraphBuilder, name: string, shape: number[], rand: () => number, scale: number): SymbolicValue {
    const n = shape.reduce((a, b) => a * b, 1);
    return g.constant(name, new Tensor(shape, Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale)));
  }

  /** An NHWC conv net behind an NCHW interface, as an ONNX importer keeps it: NCHW -> NHWC, convs, NHWC -> NCHW, Flatten, Gemm. */
  function convertedCnn(): Graph {
    const rand = prng(11);
    const g = new GraphBuilder('converted');
    const x = g.input('x', [2, 3, 12, 12]);
    let y = g.transpose(x, [0, 2, 3, 1], { name: 'to_nhwc' });
    y = g.relu(g.biasAdd(g.conv2d(y, constant(g, 'w1', [3, 3, 3, 8], rand, 0.3), { strides: [1, 1], padding: 'SAME' }), constant(g, 'b1', [8], rand, 0.1)));
    y = g.maxpool(y, { ksize: [2, 2], strides: [2, 2], padding: 'VALID' });
    const skip = y;
    y = g.relu6(g.biasAdd(g.conv2d(y, constant(g, 'w2', [3, 3, 8, 8], rand, 0.2), { strides: [1, 1], padding: 'SAME' }), constant(g, 'b2', [8], rand, 0.1)));
    y = g.relu(g.add(y, skip));
    y = g.conv2d(y, constant(g, 'w3', [3, 3, 8, 4], rand, 0.2), { strides: [2, 2], padding: 'SAME' });
    y = g.transpose(y, [0, 3, 1, 2], { name: 'to_nchw' });
    y = g.reshape(y, [2, -1], { name: 'flatten' });
    y = g.matmul(y, constant(g, 'dense', [4 * 3 * 3, 10], rand, 0.2), { name: 'gemm' });
    y = g.biasAdd(y, constant(g, 'dense_bias', [10], rand, 0.1));
    return g.build({ y: g.softmax(y) });
  }

  test('the layout pass (and O1) leave no transpose inside: only the input interface transpose remains, results unchanged', () => {
    const graph = convertedCnn();
    const feeds = { x: Float32Array.from({ length: 2 * 3 * 12 * 12 }, (_, i) => Math.sin(i)) };
    const r = layout.run(graph, {});
    expect(transposes(r.graph).map((n) => [n.name, n.inputs[0]])).toEqual([['to_nhwc', 'x']]);
    expect(r.report.changes.some((c) => c.startsWith("fold-transpose-flatten: 'to_nchw' before 'flatten' -> 'gemm'"))).toBe(true);
    expectSameResults(graph, r.graph, feeds);
    const o1 = new PassManager().run(graph, { level: 'O1', verify: true });
    expect(o1.verification?.ok).toBe(true);
    expect(transposes(o1.graph).map((n) => n.inputs[0])).toEqual(['x']);
    expectSameResults(graph, o1.graph, feeds);
  });
});
