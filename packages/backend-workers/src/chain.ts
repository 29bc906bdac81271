import type { Step } from '@tessera/backend-cpu';
import type { Node } from '@tessera/core';
import type { ExecutionPlan } from '@tessera/runtime';
import { MAIN, type Part } from './partition.js';

/**
 * Chains: a split step followed by element-wise steps on its output (conv2d -> bias_add -> relu)
 * runs as one dispatch. Each participant runs its range of the producer, then the same elements
 * of each follower, with no barrier in between: element e of a follower reads only element e of
 * the previous output, which the same participant has just written. Same kernels, same elements,
 * so the same bits as separate steps; one dispatch (and one wait) instead of one per node.
 */

/** Kernels whose units [a, b) write exactly output elements [a*E, b*E) (E = output size / units). */
const ROW_PRODUCERS = new Set(['conv2d', 'matmul', 'bias_add', 'relu']);
/** Kernels where output element e reads input 0 at element e only (and, for bias_add, a bias vector). */
const ELEMENTWISE = new Set(['bias_add', 'relu']);

interface Interval {
  readonly start: number;
  readonly end: number;
}

const overlaps = (a: Interval, b: Interval): boolean => a.start < b.end && b.start < a.end;
const same = (a: Interval, b: Interval): boolean => a.start === b.start && a.end === b.end;

/**
 * For each node index: the node indices chained after it (its followers), or null. Followers are
 * listed once, under their producer; `chained[i]` is true for every follower. A follower joins
 * when it is element-wise on the previous member's output (whole, in element order), its units
 * are a multiple of the producer's, and what it writes is either that output in place or arena
 * memory no member of the chain reads or writes (the arena planner reuses memory of values that
 * are dead after a step, which is only safe with a barrier between the steps).
 */
export function chainSteps(
  nodes: readonly Node[],
  steps: readonly (Step | null)[],
  parts: readonly (readonly Part[] | null)[],
  plan: ExecutionPlan,
): { followers: (number[] | null)[]; chained: boolean[] } {
  const followers: (number[] | null)[] = nodes.map(() => null);
  const chained = nodes.map(() => false);
  const region = (value: string): Interval | null => {
    const loc = plan.locate(value);
    return loc.kind === 'arena' ? { start: loc.buffer.offset, end: loc.buffer.offset + loc.buffer.size } : null;
  };
  for (let i = 0; i < nodes.length; i++) {
    const p = steps[i];
    const pp = parts[i];
    if (!p || !pp || chained[i] || !ROW_PRODUCERS.has(p.kernel) || p.units === 0) continue;
    if (pp.length < 2 && !(pp.length === 1 && pp[0].worker !== MAIN)) continue; // inline steps need no chain
    const reads: Interval[] = [];
    const writes: Interval[] = [];
    for (const v of nodes[i].inputs) {
      const r = region(v);
      if (r) reads.push(r);
    }
    let out = region(nodes[i].name);
    if (!out) continue;
    writes.push(out);
    let last = nodes[i].name;
    const list: number[] = [];
    for (let j = i + 1; j < nodes.length; j++) {
      const f = steps[j];
      if (!f) break; // a view (reshape): stop rather than reason about aliases
      const node = nodes[j];
      if (!ELEMENTWISE.has(f.kernel) || node.inputs[0] !== last || f.units % p.units !== 0) break;
      const input = region(node.inputs[0]);
      const y = region(node.name);
      if (!input || !y || !same(input, out) || f.units !== out.end - out.start) break;
      const others: Interval[] = [];
      for (const v of node.inputs.slice(1)) {
        const r = region(v);
        if (r) others.push(r);
      }
      // Its other operands (a bias computed in the arena) must not be written by the chain.
      if (others.some((r) => writes.some((w) => overlaps(r, w)))) break;
      // In place on its input, or memory no member touches.
      const inPlace = same(y, input);
      if (!inPlace && [...reads, ...writes, ...others].some((r) => overlaps(r, y))) break;
      if (others.some((r) => overlaps(r, y))) break;
      reads.push(input, ...others);
      writes.push(y);
      list.push(j);
      chained[j] = true;
      last = node.name;
      out = y;
    }
    if (list.length) followers[i] = list;
  }
  return { followers, chained };
}

/** Units of follower `f` matching units [start, end) of its producer `p`. */
export function followerRange(p: Step, f: Step, start: number, end: number): [number, number] {
  const e = f.units / p.units;
  return [start * e, end * e];
}
