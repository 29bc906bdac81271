import { attrsOf, isElementwise, mean, type Graph, type Node } from '@tessera/core';
import type { ExecutionPlan } from '@tessera/runtime';
import type { Step } from './program.js';

/**
 * When a step may run on a range right after the step before it, with no barrier in between:
 * the rules the cpu backend's item runs (item-runs.ts) and the workers backend's chains
 * (backend-workers chain.ts) share.
 */

/**
 * Kernels whose units are item-major: with N the leading dimension of the output (and of
 * operand 0), units [n*U/N, (n+1)*U/N) write item n of the output and read item n of operand 0
 * only; other operands are read whole. (matmul: not with a rank-2 transposed a, whose rows are
 * columns of the operand; the others in `keepsItems`' cases only.)
 */
const ITEM_MAJOR = new Set([
  'conv2d', 'conv2d_winograd', 'maxpool', 'matmul', 'bias_add', 'relu', 'relu6', 'batch_norm', 'depthwise_conv2d', 'avg_pool', 'add', 'mul', 'pad', 'concat', 'mean', 'softmax',
]);

/** A matmul node that reads its a transposed (the output's rows are then a's columns). */
export const transposesA = (node: Node): boolean => (node.attrs as { transposeA?: boolean }).transposeA === true;

/** Units [n*U/N, (n+1)*U/N) of the step write item n of its output and read item n of operand 0 only (ITEM_MAJOR). */
export function itemMajor(graph: Graph, node: Node, step: Step, items: number): boolean {
  if (!ITEM_MAJOR.has(step.kernel) || step.units % items !== 0 || node.output.shape[0] !== items) return false;
  const a = graph.value(node.inputs[0]).shape;
  if (a[0] !== items) return false;
  return !(step.kernel === 'matmul' && a.length === 2 && transposesA(node)) && keepsItems(graph, node);
}

/** Operand 0 has the output's shape (add, mul: it is not broadcast, so element i of the output reads its element i). */
const unbroadcast = (graph: Graph, node: Node): boolean => sameShape(graph.value(node.inputs[0]).shape, node.output.shape);
const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * The ops whose units are item-major only for some operands or attributes: mean when it keeps
 * axis 0 (a reduced axis 0 without keepdims would make the next axis look like the items);
 * softmax with rank >= 2 (rows within items); add and mul with operand 0 unbroadcast (a
 * lower-rank operand 0 would be read whole by every item). pad and concat need no test: padding
 * or joining along axis 0 changes the leading dimension, which `itemMajor` refuses.
 */
function keepsItems(graph: Graph, node: Node): boolean {
  switch (node.op) {
    case 'mean': {
      const rank = graph.value(node.inputs[0]).shape.length;
      return !attrsOf(node, mean).axes.some((a) => (a + rank) % rank === 0);
    }
    case 'softmax':
      return node.output.shape.length >= 2;
    case 'add':
    case 'mul':
      return unbroadcast(graph, node);
    default:
      return true;
  }
}

/** Element i of the follower reads element i of the previous output (whole) and other operands never written by the chain. */
export function elementwiseFollower(graph: Graph, node: Node): boolean {
  return isElementwise(node.op) || ((node.op === 'add' || node.op === 'mul') && unbroadcast(graph, node));
}

/** A range of arena floats [start, end). */
export interface Interval {
  readonly start: number;
  readonly end: number;
}

/** A value's memory in the plan's arena; null for a constant. */
export function arenaRegion(plan: ExecutionPlan, value: string): Interval | null {
  const loc = plan.locate(value);
  return loc.kind === 'arena' ? { start: loc.buffer.offset, end: loc.buffer.offset + loc.buffer.size } : null;
}

export const overlaps = (a: Interval, b: Interval): boolean => a.start < b.end && b.start < a.end;
export const same = (a: Interval, b: Interval): boolean => a.start === b.start && a.end === b.end;

/** The memory of a follower: its input (the chain's last output `out`), its output y, its other operands. */
export interface FollowerMemory {
  readonly input: Interval;
  readonly y: Interval;
  readonly out: Interval;
  readonly others: readonly Interval[];
}

/**
 * With a plan: the follower may run right after the chain's members on each range, with no
 * barrier: what it writes is its input in place (element-wise kernels) or memory no member reads
 * or writes (`reads`, `writes`), and its other operands are not written by the chain (the arena
 * planner reuses memory of values dead after a step, which is only safe with a barrier). With
 * `elementwise`, its units must also be the elements of its input.
 */
export function barrierFree(node: Node, f: Step, elementwise: boolean, m: FollowerMemory, reads: readonly Interval[], writes: readonly Interval[]): boolean {
  const { input, y, out, others } = m;
  if (!same(input, out) || (elementwise && f.units !== out.end - out.start)) return false;
  if (others.some((r) => writes.some((w) => overlaps(r, w)))) return false;
  const inPlace = isElementwise(node.op) && same(y, input);
  if (!inPlace && [...reads, ...writes, ...others].some((r) => overlaps(r, y))) return false;
  return !others.some((r) => overlaps(r, y));
}
