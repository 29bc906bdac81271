import {
  arenaRegion, ChainMemory, elementwiseFollower, itemMajor, kernels, overlaps, transposesA, type ConvStep, type Interval, type Step,
} from '@tessera/backend-cpu/kernels';
import { isElementwise, numel, type Graph, type Node } from '@tessera/core';
import type { ExecutionPlan } from '@tessera/runtime';
import { chainWork, chunkBounds } from './chunks.js';
import { MAIN, rereadCost, smallestChunk, stepCost } from './partition.js';
import type { Part, TileRegion } from './types.js';

/**
 * Chains: a split step and the steps after it that each participant can run on its own range
 * with no barrier in between, because a range of a follower reads only what the same
 * participant has just written. One dispatch (and one wait) for the chain instead of one per
 * node; the same kernels on the same elements, so the same bits as separate steps.
 *
 * Three kinds of followers:
 * - element-wise (op spec `elementwise`: bias_add, relu, relu6, batch_norm on the previous output,
 *   whole, in element order): any range of the head maps to the same elements of the follower.
 *   add and mul join the same way when their operand 0 (the previous output) has the output's
 *   shape: element i reads element i of it and the other operand (broadcast into it, never
 *   written by the chain) anywhere; they write memory of their own (the plan runs only spec
 *   element-wise ops in place). A MobileNet block's projection -> batch_norm -> residual add;
 * - row-wise (a pointwise conv2d, a matmul): unit u reads row u of the previous output only
 *   (its channels, its k values), so a range of the head maps to the follower's rows of the same
 *   elements. A ResNet bottleneck's 3x3 conv -> 1x1 conv, or an MLP's layers, run as one chain,
 *   and so does MobileNet's depthwise -> batch_norm -> relu6 -> 1x1 conv;
 * - item-wise (conv2d (Winograd's too: its units are tiles, item-major), depthwise, maxpool, avg_pool, matmul, the element-wise ones, and pad, concat,
 *   mean, softmax where they keep the items apart: `keepsItems`) when the chain's values share a
 *   leading (batch) dimension N >= 2: ranges then cover whole items, and item n of a follower reads
 *   item n of the previous output only. conv -> bias -> relu -> maxpool on a batch runs as one
 *   chain, each participant taking whole images.
 *
 * Tiles: a value that only the chain's own members read (not a graph output, not the last
 * member's output) is never needed whole. A participant keeps each range of it in a tile of its
 * own inside the value's memory (schedule.ts), where the next member reads it while it is still
 * in that core's cache, and no two threads write the same memory from one run to the next.
 *
 * A GEMM follower (matmul, pointwise conv) re-reads all of its weights for every range it runs
 * (`rereadCost`); it joins only if that costs no more than it computes on the smallest chunk
 * the chain with it would be cut into (chunks.ts `chunkBounds`): guided chunks shrink to
 * 1/(LEAST_CHUNK_DIVISOR x participants) of the units, an even cut of a coarse step (few rows) is
 * what it is. The seed CNN's 12544 x 10
 * matmul on a batch (one row per image) does not join: it runs as a step of its own, in a few
 * large chunks. ResNet-50's and MobileNet's 7x7 layers (49 rows) do: cut into two even chunks,
 * a 3x3 conv and the 1x1 conv after it run without the barrier at which one thread waited
 * while the other ran the last chunk.
 */

/**
 * Kernels whose units [a, b) write exactly output elements [a*E, b*E) (E = output size / units):
 * units are output rows (conv2d, matmul: pixels or rows; depthwise_conv2d, its fused form (the
 * same kernel), maxpool and avg_pool: output pixels, all channels; softmax: rows of the last axis; pad:
 * runs along the last axis; concat: all of one outer index's runs) or output elements (the
 * element-wise ops, add, mul, mean).
 */
const ROW_PRODUCERS = new Set([
  'conv2d', 'matmul', 'bias_add', 'relu', 'relu6', 'add', 'mul', 'batch_norm', 'depthwise_conv2d', 'maxpool', 'avg_pool', 'softmax', 'pad', 'concat', 'mean',
]);

export interface Chains {
  /** By node index: the nodes chained after it (its followers), or null. */
  readonly followers: (number[] | null)[];
  /** True for every follower (it runs with its head). */
  readonly chained: boolean[];
  /** By node index of an item-wise chain's head: its units per item (ranges are multiples of it); null elsewhere. */
  readonly grains: (number | null)[];
  /** By node index of a head: some follower writes memory of its own (row- or item-wise), so the plan keeps the chain's values apart. */
  readonly apart: boolean[];
  /** By node index of a head: the arena memory of the values only the chain reads (tiles, above); null without a plan or none. */
  readonly tiles: (readonly TileRegion[] | null)[];
}

/** Unit u of the step reads elements [u*R, (u+1)*R) of operand 0 only, R = its size / units (chain.ts header). */
function rowWise(node: Node, step: Step): boolean {
  if (step.kernel === 'conv2d') return kernels.isPointwise((step as ConvStep).g);
  // matmul: the output's rows are a's rows (a is never broadcast) unless a is transposed.
  return step.kernel === 'matmul' && !transposesA(node);
}

/**
 * The chains of a program. With `plan` null, by kernels and shapes alone (what could chain if
 * memory allowed: the backend then plans memory so that it does, `chainSpans`). With a plan, a
 * follower also needs memory that is safe without a barrier: what it writes is its input in
 * place (element-wise) or memory no member of the chain reads or writes, and its other operands
 * are not written by the chain (the arena planner reuses memory of values dead after a step,
 * which is only safe with a barrier between the steps).
 */
export function chainSteps(
  graph: Graph,
  steps: readonly (Step | null)[],
  parts: readonly (readonly Part[] | null)[],
  plan: ExecutionPlan | null,
  /** The program runs on the wasm path (the cost model's prices, partition.ts). */
  simd: boolean,
): Chains {
  const nodes = graph.nodes;
  const followers: (number[] | null)[] = nodes.map(() => null);
  const chained = nodes.map(() => false);
  const grains: (number | null)[] = nodes.map(() => null);
  const apart = nodes.map(() => false);
  const tiles: (readonly TileRegion[] | null)[] = nodes.map(() => null);
  for (let i = 0; i < nodes.length; i++) {
    const p = steps[i];
    const pp = parts[i];
    if (!p || !pp || chained[i] || !ROW_PRODUCERS.has(p.kernel) || p.units === 0) continue;
    if (pp.length < 2 && !(pp.length === 1 && pp[0].worker !== MAIN)) continue; // inline steps need no chain
    const items = nodes[i].output.shape[0];
    const byItems = items >= 2 && itemMajor(graph, nodes[i], p, items);
    const memory = ChainMemory.of(graph, plan, nodes[i]);
    if (!memory) continue;
    let last = nodes[i].name;
    let itemwise = false;
    const list: number[] = [];
    for (let j = i + 1; j < nodes.length; j++) {
      const f = steps[j];
      const node = nodes[j];
      if (node.inputs[0] !== last) break;
      if (!f) {
        // A view (reshape) of the previous output: follow it when it keeps the items.
        if (!byItems || node.output.shape[0] !== items) break;
        memory.addView(node);
        last = node.name;
        continue;
      }
      // Whole units of the follower for every range of the head.
      const whole = f.units % p.units === 0;
      const elementwise = elementwiseFollower(graph, node) && whole;
      const rows = !elementwise && whole && rowWise(node, f);
      const byItem = !elementwise && !rows && byItems && itemMajor(graph, node, f, items);
      if (!elementwise && !rows && !byItem) break;
      // Chained, a GEMM follower re-reads its weights on each chunk of the chain (header).
      if (pp.length > 1 && rereadCost(f) > 0) {
        const members = [i, ...list, j].map((k) => steps[k]!);
        const cut = chunkBounds(chainWork(members, simd, itemwise || byItem ? p.units / items : null), pp.length);
        const smallest = cut.even ? Math.min(...cut.bounds.slice(1).map((b, k) => b - cut.bounds[k])) : smallestChunk(p.units, pp.length);
        if (rereadCost(f) > (stepCost(f, simd) * smallest) / p.units) break;
      }
      if (!memory.join(node, f, elementwise)) break;
      list.push(j);
      chained[j] = true;
      itemwise ||= byItem;
      // Followers that do not run in place (spec element-wise ops do) write memory of their own.
      apart[i] ||= !(elementwise && isElementwise(node.op));
      last = node.name;
    }
    if (!list.length) continue;
    followers[i] = list;
    if (itemwise) grains[i] = p.units / items;
    if (plan) tiles[i] = tileRegions(graph, plan, i, list);
  }
  return { followers, chained, grains, apart, tiles };
}

/**
 * The memory of the chain's values (nodes head..last follower, views included) that no one
 * outside the chain reads: not a graph output, no consumer outside, not the memory of the last
 * member's output nor of a value the chain reads from before it. Values sharing memory
 * (element-wise steps in place, views) are kept per participant together or not at all.
 */
function tileRegions(graph: Graph, plan: ExecutionPlan, head: number, list: readonly number[]): TileRegion[] | null {
  const last = list[list.length - 1];
  const members = new Set(graph.nodes.slice(head, last + 1));
  // Memory the chain must keep whole: its last output, and what it reads from before the chain
  // (an element-wise head runs in place on its input).
  const fromBefore = (v: string): boolean => {
    const producer = graph.producer(v);
    return !producer || !members.has(producer);
  };
  const outside = [graph.nodes[last].name, ...[...members].flatMap((n) => n.inputs.filter(fromBefore))];
  const whole = outside.map((v) => arenaRegion(plan, v)).filter((r): r is Interval => r !== null);
  const byStart = new Map<number, { floats: number; internal: boolean }>();
  for (const node of members) {
    if (node === graph.nodes[last]) continue;
    const r = arenaRegion(plan, node.name);
    if (!r) continue;
    const internal = !graph.isOutput(node.name) && graph.consumers(node.name).every((c) => members.has(c)) && !whole.some((w) => overlaps(r, w));
    const seen = byStart.get(r.start);
    const floats = numel(node.output.shape);
    byStart.set(r.start, { floats, internal: internal && (seen ? seen.internal && seen.floats === floats : true) });
  }
  const regions = [...byStart].filter(([, v]) => v.internal).map(([offset, v]) => ({ offset, floats: v.floats }));
  return regions.length ? regions : null;
}

/** Node index ranges [head, last follower] of the chains whose followers write memory of their own: the arena plan keeps their values apart. */
export function chainSpans(chains: Chains): [number, number][] {
  const spans: [number, number][] = [];
  chains.followers.forEach((list, i) => {
    if (list && chains.apart[i]) spans.push([i, list[list.length - 1]]);
  });
  return spans;
}

/** The unit of follower `f` matching unit `u` of its head `p` (a chunk bound; whole items for item-wise chains: exact in integers). */
export function followerUnit(p: Step, f: Step, u: number): number {
  return (u * f.units) / p.units;
}
