/*
 * exportOnnx: every op exports; importOnnx(exportOnnx(g), { layout: 'NHWC' }) is equivalent to g
 * (its reference within the sum of both references' bounds, compareReferences: the rule passes
 * use); ONNX Runtime (node, CPU), an independent engine, runs the export within the reference's
 * bound, the sign of zeros aside (ONNX does not specify it: ORT's Relu keeps -0). ORT_FACTOR = 1: the bound holds for any float32 summation order, blocking and fused
 * multiply-add (docs/SEMANTICS.md), which covers MLAS' GEMM and convolutions; nothing was widened.
 */
import { fc, test as propTest } from '@fast-check/vitest';
import { graphArbitrary, GRAPH_OPS } from '@tessera/conformance';
import { compareReferences, compareToReference, evaluate, GraphBuilder, OPS, randomTensor, Tensor, type Feeds, type Graph } from '@tessera/core';
import { mobilenetV2, seedCnn, workload, workloadGraph } from '@tessera/examples';
import { EXPORTERS, exportOnnx, importOnnx } from '@tessera/onnx';
import { describe, expect, it } from 'vitest';
import { runInOrt } from '../packages/onnx/test/ort.js';
import { checkLayers, everyNodeAnOutput } from './networks-layerwise.js';

const ORT_FACTOR = 1;

/** Failures of `back` (the import of the export) against `g`, output by output, on the reference. */
function roundTripFailures(g: Graph, feeds: Feeds): string[] {
  const back = importOnnx(exportOnnx(g), { layout: 'NHWC' });
  expect(back.inputs.map((v) => [v.name, v.shape])).toEqual(g.inputs.map((v) => [v.name, v.shape]));
  expect(Object.keys(back.outputs).sort()).toEqual(Object.keys(g.outputs).sort());
  const before = evaluate(g, feeds);
  const after = evaluate(back, feeds);
  return Object.keys(before).flatMap((k) => {
    const cmp = compareReferences(after[k], before[k]);
    return cmp.ok ? [] : [`${k}: ${cmp.failures} elements, first ${JSON.stringify(cmp.firstFailure)}`];
  });
}

/** Failures of ONNX Runtime's outputs against the reference's bound (times ORT_FACTOR). */
async function ortFailures(g: Graph, feeds: Feeds): Promise<string[]> {
  const ref = evaluate(g, feeds);
  const got = await runInOrt(g, feeds);
  return Object.entries(ref).flatMap(([k, r]) => {
    // The sign of a zero is Tessera's rule, not ONNX's (ORT's Relu keeps -0): not checked here.
    const cmp = compareToReference(got.get(k)!, { ...r, bound: r.bound.map((b) => b * ORT_FACTOR), zeroSign: undefined });
    return cmp.ok ? [] : [`${k}: ${cmp.failures} elements, first ${JSON.stringify(cmp.firstFailure)}`];
  });
}

function feedsFor(g: Graph, seed = 3): Record<string, Float32Array> {
  return Object.fromEntries(g.inputs.map((v, k) => [v.name, randomTensor(v.shape, seed + k).data]));
}

/** A graph with what the random graphs leave out: transposes (of rank 4 and 3), a rank-3 batch norm, a mean without keepdims. */
function handPicked(): Graph {
  const g = new GraphBuilder('hand-picked');
  const x = g.input('x', [2, 5, 4, 3]);
  const t = g.transpose(x, [0, 3, 1, 2], { name: 't4' });
  const r = g.reshape(t, [2, 15, 4], { name: 'r3' });
  const t3 = g.transpose(r, [0, 2, 1], { name: 't3' });
  const c = 15;
  const stat = (name: string, seed: number, f: (v: number) => number) => g.constant(name, new Tensor([c], randomTensor([c], seed, 0.5).data.map(f)));
  const variance = stat('v', 2, (v) => Math.abs(v) + 0.5);
  const bn = g.batchNorm(t3, stat('m', 1, (v) => v), variance, stat('o', 3, (v) => v), stat('s', 4, (v) => v + 1), { epsilon: 1e-3, name: 'bn3' });
  const m = g.mean(x, { axes: [1], name: 'mean_h' });
  const back = g.transpose(bn, undefined, { name: 'reversed' });
  return g.build({ bn: bn, reversed: back, mean_h: m, t4: t });
}

describe('exportOnnx', () => {
  it("has an exporter for every op of core's table", () => {
    expect(Object.keys(OPS).filter((op) => !(op in EXPORTERS))).toEqual([]);
  });

  it('writes an ONNX model (opset 13) that importOnnx reads back with the same interface, NCHW by default', () => {
    const g = seedCnn();
    const back = importOnnx(exportOnnx(g));
    expect(back.inputs[0].shape).toEqual([1, 1, 28, 28]);
    expect(Object.keys(back.outputs)).toEqual(Object.keys(g.outputs));
  });

  it('hand-picked graph (transposes, rank-3 batch norm, mean without keepdims): import of the export is equivalent, and ONNX Runtime agrees', async () => {
    const g = handPicked();
    const feeds = feedsFor(g);
    expect(roundTripFailures(g, feeds)).toEqual([]);
    expect(await ortFailures(g, feeds)).toEqual([]);
  });

  it('a pad before a 1x1 avg_pool runs in ONNX Runtime (a shrunk random graph: its rewrite Pad_Fusion made pads its pool kernel refused)', async () => {
    const b = new GraphBuilder('pad_pool');
    const x = b.input('x', [1, 1, 1, 1]);
    const p = b.pad(x, { paddings: [[0, 0], [0, 0], [0, 1], [0, 0]] });
    const g = b.build({ y: b.relu(b.avgPool(p, { ksize: [1, 1], strides: [1, 1], padding: 'SAME' })) });
    expect(await ortFailures(g, { x: Float32Array.of(-0.4671415686607361) })).toEqual([]);
  });

  propTest.prop([graphArbitrary({ maxOps: 8, maxMacs: 50_000, ops: GRAPH_OPS })], { numRuns: 40 })(
    'random graphs of every graph op: importOnnx(exportOnnx(g), NHWC) is equivalent to g, and ONNX Runtime runs the export within the bound',
    async ({ graph, feeds }) => {
      expect(roundTripFailures(graph, feeds)).toEqual([]);
      expect(await ortFailures(graph, feeds)).toEqual([]);
    },
  );
});

describe('example networks through ONNX Runtime', () => {
  // The quick ones here; the other workloads and ResNet-50 run in onnx.networks.heavy.ts.
  const nets: [string, () => Graph][] = [
    ['seed CNN', () => seedCnn()],
    ['W1-b1', () => workloadGraph(workload('W1-b1'))],
    ['W5', () => workloadGraph(workload('W5'))],
    ['MobileNetV2 at 32x32', () => mobilenetV2({ size: 32, classes: 10 })],
  ];
  it.each(nets)('%s: every node of the export agrees with the reference from its operands, in ONNX Runtime', async (_, build) => {
    const g = build();
    const feeds = feedsFor(g);
    const values = await runInOrt(everyNodeAnOutput(g), feeds);
    const failed = checkLayers(g, feeds, values).filter((c) => !c.ok);
    expect(failed.map((c) => `${c.layer}: worst ${c.worstRatio.toExponential(2)}`)).toEqual([]);
  });

  it.each(nets.slice(0, 3))('%s: the import of the export is equivalent', (_, build) => {
    const g = build();
    expect(roundTripFailures(g, feedsFor(g))).toEqual([]);
  });
});
