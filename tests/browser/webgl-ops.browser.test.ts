import '@tessera/backend-cpu';
import '@tessera/backend-webgl';
import { GraphBuilder, Tensor, convGeometry, prng, type Graph, type Padding } from '@tessera/core';
import { seedCnn, workload, workloadGraph } from '@tessera/examples';
import { describe, expect, it } from 'vitest';
import { checkAgainstReference, randomFeeds, tensor } from './helpers.js';

/** Random op cases: shapes, attributes and data (with a share of NaN / ±Inf / ±0 / huge) drawn from a seed. */
const CASES = 12;

function pick<T>(next: () => number, xs: readonly T[]): T {
  return xs[Math.floor(next() * xs.length)];
}
const int = (next: () => number, lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));

function padding(next: () => number, k: [number, number]): Padding {
  const p = next();
  if (p < 0.4) return 'SAME';
  if (p < 0.8) return 'VALID';
  return [
    [int(next, 0, k[0] - 1), int(next, 0, k[0] - 1)],
    [int(next, 0, k[1] - 1), int(next, 0, k[1] - 1)],
  ];
}

type Maker = (seed: number, specials: number) => Graph;

const makers: Record<string, Maker> = {
  conv2d(seed, specials) {
    const next = prng(seed);
    const k: [number, number] = [int(next, 1, 3), int(next, 1, 3)];
    const dil = next() < 0.2;
    const strides: [number, number] = dil ? [1, 1] : [int(next, 1, 2), int(next, 1, 2)];
    const dilations: [number, number] = dil ? [2, int(next, 1, 2)] : [1, 1];
    const shape = [int(next, 1, 2), int(next, 5, 9), int(next, 5, 9), int(next, 1, 9)];
    const g = new GraphBuilder(`conv2d#${seed}`);
    const x = g.input('x', shape);
    const f = g.constant('f', tensor([k[0], k[1], shape[3], int(next, 1, 9)], seed + 1, 1, specials));
    return g.build({ y: g.conv2d(x, f, { strides, dilations, padding: padding(next, k) }) });
  },
  fused_conv2d(seed, specials) {
    const next = prng(seed);
    const k: [number, number] = [int(next, 1, 3), int(next, 1, 3)];
    const shape = [1, int(next, 4, 8), int(next, 4, 8), int(next, 1, 8)];
    const cout = int(next, 1, 9);
    const g = new GraphBuilder(`fused_conv2d#${seed}`);
    const x = g.input('x', shape);
    const f = g.constant('f', tensor([k[0], k[1], shape[3], cout], seed + 1, 1, specials));
    const attrs = { strides: [int(next, 1, 2), int(next, 1, 2)] as [number, number], padding: padding(next, k), activation: pick(next, ['none', 'relu', 'relu6'] as const) };
    // Half the cases add an output-shaped residual (a graph input, read in the epilogue).
    const { batch, outH, outW, outC } = convGeometry(shape, f.shape, { ...attrs, dilations: [1, 1] });
    const residual = next() < 0.5 ? g.input('r', [batch, outH, outW, outC]) : undefined;
    const y = g.fusedConv2d(x, f, g.constant('b', tensor([cout], seed + 2, 1, specials)), attrs, residual);
    return g.build({ y });
  },
  maxpool(seed) {
    const next = prng(seed);
    const k: [number, number] = [int(next, 1, 3), int(next, 1, 3)];
    const g = new GraphBuilder(`maxpool#${seed}`);
    const x = g.input('x', [int(next, 1, 2), int(next, 3, 9), int(next, 3, 9), int(next, 1, 9)]);
    return g.build({ y: g.maxpool(x, { ksize: k, strides: [int(next, 1, 3), int(next, 1, 3)], padding: pick(next, ['SAME', 'VALID'] as const) }) });
  },
  bias_add(seed, specials) {
    const next = prng(seed);
    const shape = Array.from({ length: int(next, 1, 4) }, () => int(next, 1, 7));
    const g = new GraphBuilder(`bias_add#${seed}`);
    const x = g.input('x', shape);
    return g.build({ y: g.biasAdd(x, g.constant('b', tensor([shape[shape.length - 1]], seed + 1, 1, specials))) });
  },
  relu(seed) {
    const next = prng(seed);
    const g = new GraphBuilder(`relu#${seed}`);
    const x = g.input('x', Array.from({ length: int(next, 1, 4) }, () => int(next, 1, 7)));
    return g.build({ y: g.relu(x) });
  },
  matmul(seed, specials) {
    const next = prng(seed);
    const [m, k, n] = [int(next, 1, 9), int(next, 1, 11), int(next, 1, 9)];
    const batch = next() < 0.4 ? int(next, 2, 3) : 0;
    const tA = next() < 0.5;
    const tB = next() < 0.5;
    const shared = batch > 0 && next() < 0.5;
    const aShape = tA ? [k, m] : [m, k];
    const bShape = tB ? [n, k] : [k, n];
    const g = new GraphBuilder(`matmul#${seed}`);
    const a = g.input('a', batch ? [batch, ...aShape] : aShape);
    const constB = next() < 0.5;
    const bFull = batch && !shared ? [batch, ...bShape] : bShape;
    const b = constB ? g.constant('b', tensor(bFull, seed + 1, 1, specials)) : g.input('b', bFull);
    return g.build({ y: g.matmul(a, b, { transposeA: tA, transposeB: tB }) });
  },
  fused_matmul(seed, specials) {
    const next = prng(seed);
    const [m, k, n] = [int(next, 1, 9), int(next, 1, 11), int(next, 1, 9)];
    const g = new GraphBuilder(`fused_matmul#${seed}`);
    const a = g.input('a', [m, k]);
    const y = g.op('fused_matmul', [a, g.constant('w', tensor([k, n], seed + 1, 1, specials)), g.constant('b', tensor([n], seed + 2, 1, specials))], {
      activation: pick(next, ['none', 'relu', 'relu6'] as const),
      transposeA: false,
      transposeB: false,
    });
    return g.build({ y });
  },
  reshape(seed) {
    const next = prng(seed);
    const a = int(next, 1, 6), b = int(next, 1, 6), c = int(next, 1, 6);
    const g = new GraphBuilder(`reshape#${seed}`);
    const x = g.input('x', [a, b, c]);
    // Through relu so the reshape reads a computed texture, then a layout-changing reshape.
    const r = g.reshape(g.relu(x), pick(next, [[a * b, c], [a, b * c], [c, a * b], [a * b * c], [-1, a]]));
    return g.build({ y: g.relu(r) });
  },
  slice(seed) {
    const next = prng(seed);
    const shape = Array.from({ length: int(next, 1, 4) }, () => int(next, 1, 9));
    const begin = shape.map((d) => int(next, 0, d - 1));
    const strides = shape.map(() => int(next, 1, 3));
    const size = shape.map((d, i) => int(next, 1, Math.floor((d - 1 - begin[i]) / strides[i]) + 1));
    const g = new GraphBuilder(`slice#${seed}`);
    const x = g.input('x', shape);
    return g.build({ y: g.op('slice', [x], { begin, size, strides }) });
  },
  add: (seed, specials) => binary('add', seed, specials),
  mul: (seed, specials) => binary('mul', seed, specials),
  relu6(seed) {
    const next = prng(seed);
    const g = new GraphBuilder(`relu6#${seed}`);
    const x = g.input('x', Array.from({ length: int(next, 1, 4) }, () => int(next, 1, 7)));
    // Scaled past 6 through a mul, so values cross the upper clamp too.
    return g.build({ y: g.relu6(g.mul(x, g.constant('s', new Tensor([], Float32Array.of(9))))) });
  },
  pad(seed) {
    const next = prng(seed);
    const shape = Array.from({ length: int(next, 1, 4) }, () => int(next, 1, 6));
    const paddings = shape.map(() => [int(next, 0, 5), int(next, 0, 5)] as [number, number]);
    const g = new GraphBuilder(`pad#${seed}`);
    const x = g.input('x', shape);
    // Also a computed operand, and a channel pad of 4 (whole texels) on a width of 8.
    const y = g.pad(g.relu(x), { paddings, value: pick(next, [0, -0, 1.5, -7, 0.1]) });
    const w = g.pad(g.input('w', [2, 8]), { paddings: [[1, 0], [4, 4]] });
    return g.build({ y, w });
  },
  concat(seed, specials) {
    const next = prng(seed);
    const rank = int(next, 1, 4);
    const shape = Array.from({ length: rank }, () => int(next, 1, 5));
    const axis = int(next, 0, rank - 1);
    const g = new GraphBuilder(`concat#${seed}`);
    const count = pick(next, [1, 2, 3, 5, 20]); // 20: more operands than one draw may sample
    const parts = Array.from({ length: count }, (_, k) => {
      const s = shape.map((d, i) => (i === axis ? pick(next, [1, 2, 3, 4, 8]) : d));
      return k % 3 === 2 ? g.constant(`c${k}`, tensor(s, seed + k, 1, specials)) : g.input(`v${k}`, s);
    });
    return g.build({ y: g.concat(parts, { axis: next() < 0.5 ? axis : axis - rank }) });
  },
};

/** add / mul of two operands that broadcast: equal shapes, a channel vector, a scalar, size-1 axes, operand 0 the smaller. */
function binary(op: 'add' | 'mul', seed: number, specials: number): Graph {
  const next = prng(seed);
  const out = Array.from({ length: int(next, 0, 4) }, () => int(next, 1, 6));
  const operand = () => {
    const form = int(next, 0, 3);
    if (form === 0) return [...out];
    if (form === 1) return out.length ? [out[out.length - 1]] : [];
    if (form === 2) return [];
    return out.slice(int(next, 0, out.length)).map((d) => (next() < 0.5 ? 1 : d));
  };
  let a = operand();
  const b = operand();
  if (!out.every((d, i) => a[a.length - out.length + i] === d || b[b.length - out.length + i] === d)) a = [...out];
  const g = new GraphBuilder(`${op}#${seed}`);
  const x = g.input('a', a);
  const y = next() < 0.5 ? g.constant('b', tensor(b, seed + 1, 1, specials)) : g.input('b', b);
  const [l, r] = next() < 0.5 ? [x, y] : [y, x];
  return g.build({ y: op === 'add' ? g.add(l, r) : g.mul(l, r) });
}

describe('webgl agrees with the float64 reference within its per-element bounds', () => {
  for (const [op, make] of Object.entries(makers)) {
    it(`${op}: ${CASES} random cases (some with NaN / ±Inf / ±0 / huge values)`, async () => {
      const problems: string[] = [];
      for (let i = 0; i < CASES; i++) {
        const specials = i % 3 === 2 ? 0.1 : 0;
        const graph = make(1000 * i + op.length, specials);
        const r = await checkAgainstReference(graph, randomFeeds(graph, i, specials));
        problems.push(...r.problems);
      }
      expect(problems).toEqual([]);
    });
  }

  it('concat of 40 operands (more than one draw samples): on the channels, unaligned, and on an outer axis', async () => {
    for (const axis of [2, 1]) {
      const g = new GraphBuilder(`concat40#${axis}`);
      const parts = Array.from({ length: 40 }, (_, k) => g.input(`v${k}`, axis === 2 ? [2, 3, 1 + (k % 5)] : [2, 1 + (k % 3), 6]));
      const graph = g.build({ y: g.concat(parts, { axis }) });
      const { problems } = await checkAgainstReference(graph, randomFeeds(graph, axis));
      expect(problems).toEqual([]);
    }
  });

  it('the seed CNN, batch 1 and 3', async () => {
    for (const batch of [1, 3]) {
      const graph = seedCnn({ batch });
      const { problems } = await checkAgainstReference(graph, randomFeeds(graph, batch));
      expect(problems).toEqual([]);
    }
  });

  it('the benchmark workloads W1-b1, W2, W5', async () => {
    for (const id of ['W1-b1', 'W2', 'W5']) {
      const graph = workloadGraph(workload(id));
      const { problems } = await checkAgainstReference(graph, randomFeeds(graph, 3));
      expect(problems.slice(0, 5)).toEqual([]);
    }
  });
});
