/**
 * Issue 22, group b on webgl: avg_pool, mean and softmax agree with the float64 reference within
 * its per-element bounds on random cases (channel counts that are not multiples of 4, SAME with
 * odd pad totals, explicit pads, negative axes, NaN / ±Inf / ±0 / huge values in some cases).
 */
import '@tessera/backend-cpu';
import '@tessera/backend-webgl';
import { GraphBuilder, prng, type Graph, type Padding } from '@tessera/core';
import { describe, expect, it } from 'vitest';
import { checkAgainstReference, randomFeeds } from './helpers.js';

const CASES = 16;
const int = (next: () => number, lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));

/** SAME, VALID, or explicit pads smaller than the window (pads of 0 .. k - 1 per side). */
function poolPadding(next: () => number, k: [number, number]): Padding {
  const kind = Math.floor(next() * 3);
  const pad = (kk: number): [number, number] => [int(next, 0, kk - 1), int(next, 0, kk - 1)];
  return kind === 0 ? 'SAME' : kind === 1 ? 'VALID' : [pad(k[0]), pad(k[1])];
}

const makers: Record<string, (seed: number) => Graph> = {
  avg_pool(seed) {
    const next = prng(seed);
    const k: [number, number] = [int(next, 1, 4), int(next, 1, 4)];
    const g = new GraphBuilder(`avg_pool#${seed}`);
    const x = g.input('x', [int(next, 1, 2), int(next, 4, 9), int(next, 4, 9), int(next, 1, 10)]);
    return g.build({ y: g.avgPool(x, { ksize: k, strides: [int(next, 1, 3), int(next, 1, 3)], padding: poolPadding(next, k) }) });
  },
  mean(seed) {
    const next = prng(seed);
    const shape = Array.from({ length: int(next, 1, 4) }, () => int(next, 1, 7));
    const rank = shape.length;
    let axes = shape.flatMap((_, i) => (next() < 0.5 ? [next() < 0.5 ? i - rank : i] : []));
    const keepdims = next() < 0.5;
    if (!keepdims && axes.length === rank) axes = axes.slice(1);
    const g = new GraphBuilder(`mean#${seed}`);
    return g.build({ y: g.mean(g.input('x', shape), { axes, keepdims }) });
  },
  softmax(seed) {
    const next = prng(seed);
    const shape = [...Array.from({ length: int(next, 0, 2) }, () => int(next, 1, 5)), int(next, 1, 23)];
    const g = new GraphBuilder(`softmax#${seed}`);
    return g.build({ y: g.softmax(g.input('x', shape)) });
  },
};

describe('webgl avg_pool, mean, softmax agree with the float64 reference within its per-element bounds', () => {
  for (const [op, make] of Object.entries(makers)) {
    it(`${op}: ${CASES} random cases (some with NaN / ±Inf / ±0 / huge values)`, async () => {
      const problems: string[] = [];
      for (let i = 0; i < CASES; i++) {
        const specials = i % 4 === 3 ? 0.1 : 0;
        const graph = make(1000 * i + 17);
        const r = await checkAgainstReference(graph, randomFeeds(graph, i, specials));
        problems.push(...r.problems);
      }
      expect(problems).toEqual([]);
    });
  }

  it('global average pooling over [1, 2] then softmax on [2, 7, 5, 10], and logits scaled to 50 (exps that underflow)', async () => {
    const g = new GraphBuilder('gap-softmax');
    const x = g.input('x', [2, 7, 5, 10]);
    const graph = g.build({ y: g.softmax(g.mean(x, { axes: [1, 2] })), z: g.softmax(x) });
    const feeds = randomFeeds(graph, 5);
    expect((await checkAgainstReference(graph, feeds)).problems).toEqual([]);
    const scaled = { x: feeds.x.map((v) => v * 50) };
    expect((await checkAgainstReference(graph, scaled)).problems).toEqual([]);
  });

  it('softmax: NaN, +Inf and all -Inf rows are NaN rows; -Inf gives exactly 0', async () => {
    const g = new GraphBuilder('softmax-special');
    const graph = g.build({ y: g.softmax(g.input('x', [6, 3])) });
    const x = new Float32Array([NaN, 1, 2, Infinity, 1, 2, Infinity, Infinity, 0, -Infinity, -Infinity, -Infinity, -Infinity, 0, 0, -Infinity, 3, -Infinity]);
    const { outputs, problems } = await checkAgainstReference(graph, { x });
    expect(problems).toEqual([]);
    expect(Array.from(outputs.y.subarray(12))).toEqual([0, 0.5, 0.5, 0, 1, 0]);
  });
});
