/**
 * webgl kernels of issue 22 group c (batch_norm, depthwise_conv2d, fused_depthwise_conv2d) against core's float64
 * reference within its per-element bounds, on random cases drawn from fixed seeds (some with
 * NaN / ±Inf / ±0 / huge values), channel counts not multiples of 4 included.
 */
import '@tessera/backend-webgl';
import { GraphBuilder, prng, Tensor, type Graph, type Padding, type SymbolicValue } from '@tessera/core';
import { describe, expect, it } from 'vitest';
import { checkAgainstReference, data, randomFeeds, tensor } from './helpers.js';

const CASES = 16;
const int = (next: () => number, lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));

/** batch_norm over a random shape; statistics constants or inputs (inputs get the feeds' data, variance included: NaN where negative). */
function batchNormGraph(seed: number, specials: number): Graph {
  const next = prng(seed);
  const shape = Array.from({ length: int(next, 1, 4) }, () => int(next, 1, 7));
  const C = shape[shape.length - 1];
  const g = new GraphBuilder(`batch_norm#${seed}`);
  const constants = next() < 0.7;
  const stat = (name: string, k: number): SymbolicValue => {
    if (!constants) return g.input(name, [C]);
    const values = data(C, seed + k, 2, specials);
    return g.constant(name, new Tensor([C], name === 'variance' ? values.map(Math.abs) : values));
  };
  const x = g.input('x', shape);
  const y = g.batchNorm(x, stat('mean', 1), stat('variance', 2), stat('offset', 3), stat('scale', 4), { epsilon: [1e-3, 1e-5, 0.5][int(next, 0, 2)] });
  return g.build({ y });
}

function padding(next: () => number): Padding {
  const p = next();
  if (p < 0.45) return 'SAME';
  if (p < 0.75) return 'VALID';
  return [
    [int(next, 0, 2), int(next, 0, 2)],
    [int(next, 0, 2), int(next, 0, 2)],
  ];
}

/** depthwise_conv2d with multiplier 1..3, strides or dilations, any padding; filter constant or input. */
function depthwiseGraph(seed: number, specials: number): Graph {
  return depthwiseOrFused(seed, specials, false);
}

/** fused_depthwise_conv2d: the same geometry, a bias (constant or input) and activation none / relu / relu6 in turn. */
function fusedDepthwiseGraph(seed: number, specials: number): Graph {
  return depthwiseOrFused(seed, specials, true);
}

function depthwiseOrFused(seed: number, specials: number, fused: boolean): Graph {
  const next = prng(seed);
  const k: [number, number] = [int(next, 1, 3), int(next, 1, 3)];
  const dil = next() < 0.25;
  const strides: [number, number] = dil ? [1, 1] : [int(next, 1, 3), int(next, 1, 3)];
  const dilations: [number, number] = dil ? [2, int(next, 1, 2)] : [1, 1];
  const C = int(next, 1, 9);
  const filterShape = [k[0], k[1], C, int(next, 1, 3)];
  const g = new GraphBuilder(`depthwise_conv2d#${seed}`);
  const x = g.input('x', [int(next, 1, 2), int(next, 5, 9), int(next, 5, 9), C]);
  const f = next() < 0.6 ? g.constant('f', tensor(filterShape, seed + 1, 1, specials)) : g.input('f', filterShape);
  const attrs = { strides, dilations, padding: padding(next) };
  if (!fused) return g.build({ y: g.depthwiseConv2d(x, f, attrs) });
  const outC = C * filterShape[3];
  const b = next() < 0.6 ? g.constant('b', tensor([outC], seed + 2, 1, specials)) : g.input('b', [outC]);
  const activation = (['none', 'relu', 'relu6'] as const)[seed % 3];
  return g.build({ y: g.op('fused_depthwise_conv2d', [x, f, b], { ...attrs, activation }) });
}

describe('webgl ops of group c agree with the float64 reference within its per-element bounds', () => {
  for (const [op, make] of [
    ['batch_norm', batchNormGraph],
    ['depthwise_conv2d', depthwiseGraph],
    ['fused_depthwise_conv2d', fusedDepthwiseGraph],
  ] as const) {
    it(`${op}: ${CASES} random cases (every third with NaN / ±Inf / ±0 / huge values)`, async () => {
      const problems: string[] = [];
      for (let i = 0; i < CASES; i++) {
        const specials = i % 3 === 2 ? 0.1 : 0;
        const graph = make(977 * i + 22, specials);
        problems.push(...(await checkAgainstReference(graph, randomFeeds(graph, i, specials))).problems);
      }
      expect(problems).toEqual([]);
    });
  }

  it('batch_norm of a tiny difference and a tiny scale keeps a normal result whose partial product d * scale is subnormal', async () => {
    // The conformance failure of issue 21 (seed 1): channel 2 has d * scale = -1.05e-38, r = 31.6, y = -3.3e-37.
    const bits = (...b: number[]) => new Tensor([3], new Float32Array(Uint32Array.from(b).buffer));
    const g = new GraphBuilder('bn-subnormal-partial');
    const stat = (name: string, ...b: number[]) => g.constant(name, bits(...b));
    const y = g.batchNorm(g.input('x', [3]), stat('mean', 0xa109e038, 0xa1937a04, 0xa12359f3), stat('variance', 0x33d6bf95, 0x2b8cbccc, 0), stat('offset', 0, 0, 0), stat('scale', 0, 0x1e90b9a9, 0x9eb3b8cc), { epsilon: 1e-3 });
    const graph = g.build({ y });
    const { outputs, problems } = await checkAgainstReference(graph, { x: new Float32Array(3) });
    expect(problems).toEqual([]);
    expect(outputs.y[2]).toBeLessThan(-3.3e-37);
    expect(outputs.y[2]).toBeGreaterThan(-3.4e-37);
  });

  it('batch_norm after a depthwise_conv2d and before a relu (a MobileNet block), batch 2', async () => {
    const g = new GraphBuilder('dw-bn-relu');
    const x = g.input('x', [2, 8, 8, 6]);
    const dw = g.depthwiseConv2d(x, g.constant('f', tensor([3, 3, 6, 1], 5)), { padding: 'SAME', strides: [2, 2] });
    const stat = (name: string, seed: number) => g.constant(name, new Tensor([6], data(6, seed, 1).map(name === 'v' ? Math.abs : (v) => v)));
    const graph = g.build({ y: g.relu(g.batchNorm(dw, stat('m', 6), stat('v', 7), stat('o', 8), stat('s', 9))) });
    expect((await checkAgainstReference(graph, randomFeeds(graph, 3))).problems).toEqual([]);
  });
});
