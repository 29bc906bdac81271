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

const same = (a: Interval, b: Interval): boolean => a.start === b.start && a.end === b.end;

/**
 * The memory a chain (or an item run) has read and written so far, against which each follower
 * is checked. With a plan, a follower joins where it is safe with no barrier: what it writes is
 * its input in place (element-wise kernels) or memory no member reads or writes, and its other
 * operands are not written by the chain (the arena planner reuses memory of values dead after a
 * step, which is only safe with a barrier). Without a plan (by kernels and shapes alone: what could
 * chain if memory allowed), it joins unless an operand other than its first is a value the chain
 * computes.
 */
export class ChainMemory {
  private constructor(
    private readonly graph: Graph,
    private readonly plan: ExecutionPlan | null,
    /** The chain's last output. */
    private out: Interval,
    private readonly reads: Interval[],
    private readonly writes: Interval[],
    /** The values the chain computes (members, views of them). */
    private readonly computed: Set<string>,
  ) {}

  /** The memory of a chain headed by `head`; null where its output has no arena memory. */
  static of(graph: Graph, plan: ExecutionPlan | null, head: Node): ChainMemory | null {
    const m = new ChainMemory(graph, plan, { start: 0, end: 0 }, [], [], new Set([head.name]));
    const out = m.region(head.name);
    if (!out) return null;
    m.out = out;
    m.reads.push(...m.regions(head.inputs));
    m.writes.push(out);
    return m;
  }

  /** A view (reshape) of the chain's last output: the same memory under another name. */
  addView(node: Node): void {
    this.computed.add(node.name);
  }

  /** Whether `node` (its step `f`) may run after the members on each range; if so it joins. `elementwise`: its units must be its input's elements. */
  join(node: Node, f: Step, elementwise: boolean): boolean {
    const input = this.region(node.inputs[0]);
    const y = this.region(node.name);
    if (!input || !y) return false;
    const others = this.regions(node.inputs.slice(1));
    if (this.plan ? !this.barrierFree(node, f, elementwise, input, y, others) : node.inputs.slice(1).some((v) => this.computed.has(v))) return false;
    this.reads.push(input, ...others);
    this.writes.push(y);
    this.computed.add(node.name);
    this.out = y;
    return true;
  }

  private barrierFree(node: Node, f: Step, elementwise: boolean, input: Interval, y: Interval, others: readonly Interval[]): boolean {
    const out = this.out;
    if (!same(input, out) || (elementwise && f.units !== out.end - out.start)) return false;
    if (others.some((r) => this.writes.some((w) => overlaps(r, w)))) return false;
    // y: its input in place (element-wise kernels), or memory no member reads or writes; never its other operands'.
    const inPlace = isElementwise(node.op) && same(y, input);
    const untouched = inPlace ? others : [...this.reads, ...this.writes, ...others];
    return !untouched.some((r) => overlaps(r, y));
  }

  /** A value's memory; without a plan, a placeholder for any value not a constant. */
  private region(value: string): Interval | null {
    if (!this.plan) return this.graph.kind(value) === 'constant' ? null : { start: 0, end: 0 };
    return arenaRegion(this.plan, value);
  }

  private regions(values: readonly string[]): Interval[] {
    return values.map((v) => this.region(v)).filter((r): r is Interval => r !== null);
  }
}
