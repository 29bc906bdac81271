import { isElementwise, numel, type Graph } from '@tessera/core';
import type { ExecutionPlan } from '@tessera/runtime';
import { ChainMemory, itemMajor } from './chain-rules.js';
import type { Step } from './program.js';

/**
 * Item runs: on a batch, a step and the item-wise steps after it (each reading the one before,
 * `itemMajor`) run block of items by block of items instead of step by step, so that what one
 * member writes is read by the next while it is still in cache. The seed CNN at batch 32 writes
 * 6.4 MB of conv output that max pool reads back; in blocks of one image, 200 KB. The same kernels
 * on the same units, so the same bits. The workers backend makes chains by the same rules
 * (chain-rules.ts) to cut barriers; this is the one-thread counterpart.
 */

/** Items per block: as many as keep the members' outputs of a block, together, within this many bytes (L2-sized). */
export const ITEM_BLOCK_BYTES = 512 * 1024;
/**
 * A GEMM follower (matmul, conv2d) joins only with at least this many rows per item: on fewer (a
 * dense layer after a flatten: one row per item) it would stream all its weights for a handful
 * of rows in every block.
 */
const MIN_GEMM_ROWS = 16;
const GEMM_KERNELS = new Set(['matmul', 'conv2d']);

export interface ItemRun {
  /** Node indices of the members, head first. */
  readonly members: readonly number[];
  /** The leading dimension every member shares. */
  readonly items: number;
  readonly itemsPerBlock: number;
}

/**
 * The item runs of a program's steps (`nodeSteps`), by node index of their head (null elsewhere):
 * runs of >= 2 steps on a leading dimension >= 2 whose members' outputs per block of
 * `itemsPerBlock` items fit in `blockBytes`, where a whole step would not (0: no runs). Followers
 * need memory that is safe without a barrier (`ChainMemory`); with `plan` null, by kernels and
 * shapes alone (what could run if memory allowed: `CpuBackend.plan` then keeps each run's values
 * apart, `runSpans`). Views of a member's output are followed when they keep the items.
 */
export function itemRuns(graph: Graph, nodeSteps: readonly (Step | null)[], plan: ExecutionPlan | null, blockBytes = ITEM_BLOCK_BYTES): (ItemRun | null)[] {
  const nodes = graph.nodes;
  const runs: (ItemRun | null)[] = nodes.map(() => null);
  for (let i = 0; i < nodes.length && blockBytes > 0; i++) {
    const head = nodeSteps[i];
    const items = nodes[i].output.shape[0];
    if (!head || !(items >= 2) || !itemMajor(graph, nodes[i], head, items)) continue;
    const memory = ChainMemory.of(graph, plan, nodes[i]);
    if (!memory) continue;
    const members = [i];
    let last = nodes[i].name;
    let j = i + 1;
    for (; j < nodes.length && nodes[j].inputs[0] === last; j++) {
      const f = nodeSteps[j];
      const node = nodes[j];
      if (!f) {
        if (node.output.shape[0] !== items) break;
        memory.addView(node);
      } else {
        if (!itemMajor(graph, node, f, items) || (GEMM_KERNELS.has(f.kernel) && f.units / items < MIN_GEMM_ROWS) || !memory.join(node, f, false)) break;
        members.push(j);
      }
      last = node.name;
    }
    if (members.length < 2) continue;
    const itemBytes = members.reduce((sum, m) => sum + (4 * numel(nodes[m].output.shape)) / items, 0);
    const itemsPerBlock = Math.max(1, Math.floor(blockBytes / itemBytes));
    if (itemsPerBlock < items) runs[i] = { members, items, itemsPerBlock };
    i = j - 1;
  }
  return runs;
}

/** Node index ranges [head, last member] of the runs whose members write memory of their own (not all in place): the plan keeps their values apart. */
export function runSpans(graph: Graph, runs: readonly (ItemRun | null)[]): [number, number][] {
  return runs.flatMap((r) => (r && r.members.slice(1).some((m) => !isElementwise(graph.nodes[m].op)) ? [[r.members[0], r.members[r.members.length - 1]] as [number, number]] : []));
}

/** The order a program's steps run in: each step alone (one block of one item), or as an item run with its followers. */
export function runOrder(nodeSteps: readonly (Step | null)[], runs: readonly (ItemRun | null)[]): ItemRun[] {
  const order: ItemRun[] = [];
  for (let i = 0; i < nodeSteps.length; i++) {
    if (!nodeSteps[i]) continue;
    const run = runs[i] ?? { members: [i], items: 1, itemsPerBlock: 1 };
    order.push(run);
    i = run.members[run.members.length - 1];
  }
  return order;
}
