import { compareReferences, evaluate, numel, prng, type Feeds, type Graph, type RefTensor } from '@tessera/core';
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
  /** max over elements of |after - before| / (boundBefore + boundAfter) (an exact match counts 0). */
  readonly worstRatio: number;
}

/**
 * Compares two reference evaluations of graphs with the same outputs, each output by core's
 * `compareReferences`: |after - before| <= boundBefore + boundAfter element by element (both are
 * within their bound of the exact float32 result, so a correct rewrite can differ by at most the
 * sum); NaN must stay NaN and infinities must match. Stops at the first output that fails (its
 * worst ratio covers that whole output); also fails on a missing output or a changed shape.
 */
export function compareResults(before: Record<string, RefTensor>, after: Record<string, RefTensor>): Comparison {
  let worst = 0;
  for (const [name, b] of Object.entries(before)) {
    const a = after[name];
    if (!a || a.value.length !== b.value.length) {
      return { ok: false, worstRatio: Infinity, mismatch: { output: name, index: -1, before: b.value.length, after: a ? a.value.length : 0, bound: 0 } };
    }
    const c = compareReferences(a, b);
    worst = Math.max(worst, c.worstRatio);
    const f = c.firstFailure;
    if (f) return { ok: false, worstRatio: worst, mismatch: { output: name, index: f.index, before: f.expected, after: f.actual, bound: f.bound } };
  }
  return { ok: true, worstRatio: worst };
}

/** Evaluates both graphs on the same feeds and compares them. */
export function compareGraphs(before: Graph, after: Graph, feeds: Feeds): Comparison {
  return compareResults(evaluate(before, feeds), evaluate(after, feeds));
}
