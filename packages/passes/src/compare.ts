import { evaluate, numel, prng, type Feeds, type Graph, type RefTensor } from '@tessera/core';
import type { Mismatch } from './types.js';

/** Uniform random feeds in [-scale, scale) for every input of a graph, from a seed. */
export function randomFeeds(graph: Graph, seed: number, scale = 1): Record<string, Float32Array> {
  const next = prng(seed);
  const feeds: Record<string, Float32Array> = {};
  for (const v of graph.inputs) {
    const data = new Float32Array(numel(v.shape));
    for (let i = 0; i < data.length; i++) data[i] = (next() * 2 - 1) * scale;
    feeds[v.name] = data;
  }
  return feeds;
}

export interface Comparison {
  readonly ok: boolean;
  readonly mismatch?: Mismatch;
  /** max over elements of |after - before| / (boundBefore + boundAfter) (0 / 0 counts as 0). */
  readonly worstRatio: number;
}

/**
 * Compares two reference evaluations of graphs with the same outputs, element by element:
 * each must satisfy |after - before| <= boundBefore + boundAfter (both are within their bound of
 * the exact float32 result, so a correct rewrite can differ by at most the sum). NaN must stay NaN
 * and infinities must match. Also fails on a missing output or a changed shape.
 */
export function compareResults(before: Record<string, RefTensor>, after: Record<string, RefTensor>): Comparison {
  let worst = 0;
  for (const [name, b] of Object.entries(before)) {
    const a = after[name];
    if (!a || a.value.length !== b.value.length) {
      return { ok: false, worstRatio: Infinity, mismatch: { output: name, index: -1, before: b.value.length, after: a ? a.value.length : 0, bound: 0 } };
    }
    for (let i = 0; i < b.value.length; i++) {
      const x = b.value[i];
      const y = a.value[i];
      const bound = b.bound[i] + a.bound[i];
      let ok: boolean;
      let ratio = 0;
      if (Number.isNaN(x) || Number.isNaN(y) || !Number.isFinite(x) || !Number.isFinite(y)) {
        ok = Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y));
        ratio = ok ? 0 : Infinity;
      } else {
        const d = Math.abs(y - x);
        ok = d <= bound;
        ratio = d === 0 ? 0 : d / bound;
      }
      if (ratio > worst) worst = ratio;
      if (!ok) return { ok: false, worstRatio: worst, mismatch: { output: name, index: i, before: x, after: y, bound } };
    }
  }
  return { ok: true, worstRatio: worst };
}

/** Evaluates both graphs on the same feeds and compares them. */
export function compareGraphs(before: Graph, after: Graph, feeds: Feeds): Comparison {
  return compareResults(evaluate(before, feeds), evaluate(after, feeds));
}
