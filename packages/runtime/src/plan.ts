import { isElementwise, isView, numel, type Graph, type Node } from '@tessera/core';

/** A region of the arena holding one value (and every reshape view of it). */
export interface Buffer {
  readonly id: number;
  /** Float offset into the arena, aligned to ARENA_ALIGN floats. */
  readonly offset: number;
  /** Floats. */
  readonly size: number;
  /** Step that writes it (-1: an input, written before the first step). */
  readonly firstStep: number;
  /** Last step that reads it (steps.length: a graph output, read after the last step). */
  readonly lastStep: number;
}

/** Where a value lives: in the arena, or in a constant (weights stay with the backend). */
export type Location = { readonly kind: 'arena'; readonly buffer: Buffer } | { readonly kind: 'constant'; readonly name: string };

export interface ExecutionPlan {
  readonly graph: Graph;
  /** Nodes in execution order. Reshape nodes are included but are views: nothing to compute. */
  readonly steps: readonly Node[];
  /** Floats the arena needs (the peak of live buffers, after reuse). */
  readonly arenaSize: number;
  /** Floats all buffers would need without reuse. */
  readonly noReuseSize: number;
  readonly buffers: readonly Buffer[];
  /** The options it was planned with (a backend that re-plans keeps them). */
  readonly options: PlanOptions;
  locate(value: string): Location;
  /** True for nodes that only reinterpret their input (reshape): no kernel runs. */
  isView(node: Node): boolean;
}

/** 16 floats = 64 bytes: a cache line, and a multiple of every SIMD width. */
export const ARENA_ALIGN = 16;

export interface PlanOptions {
  /**
   * Spans [first, last] of step indices that must be planned as if they ran at once: no two
   * values they touch share memory (for a backend that runs the steps of a span without a
   * barrier between them, like the workers backend's chains). In-place element-wise steps still
   * share their operand's memory.
   */
  readonly together?: readonly (readonly [number, number])[];
  /**
   * Graph inputs keep their memory for the whole run (nothing else is placed over them), so
   * their contents survive a run: what a session with bound inputs (`bindIO`) needs, since its
   * caller writes an input once and may run many times.
   */
  readonly keepInputs?: boolean;
}

/**
 * Plans one arena for a graph's inputs and intermediates: a topological schedule, the lifetime
 * of every buffer, reshape outputs as views of their input, element-wise ops in place over an
 * operand that dies with them, and offsets chosen so buffers whose lifetimes do not overlap
 * share memory (greedy by size, lowest free offset first).
 */
export function planExecution(graph: Graph, options: PlanOptions = {}): ExecutionPlan {
  const steps = graph.nodes;
  // Lifetimes are measured in "times": a step's index, or the first step of its span.
  const time = steps.map((_, i) => i);
  for (const [first, last] of options.together ?? []) for (let i = first; i <= last; i++) time[i] = Math.min(time[i], time[first]);
  const root = new Map<string, string>(); // value -> the value whose storage it shares
  const rootOf = (v: string): string => {
    const r = root.get(v);
    return r === undefined ? v : rootOf(r);
  };
  for (const n of steps) if (isView(n.op)) root.set(n.name, rootOf(n.inputs[0]));
  // In place: operand 0's storage (an intermediate, not a graph input or output) when no later
  // step reads it through any name. Readers of the result then keep that storage alive.
  const lastRead = new Map<string, number>();
  steps.forEach((n, step) => n.inputs.forEach((v) => lastRead.set(rootOf(v), step)));
  for (const v of Object.values(graph.outputs)) lastRead.set(rootOf(v), steps.length);
  steps.forEach((n, step) => {
    // An element-wise op (op spec `elementwise`) may take operand 0's memory.
    if (!isElementwise(n.op)) return;
    const r = rootOf(n.inputs[0]);
    if (graph.kind(r) !== 'node' || lastRead.get(r) !== step || n.inputs.slice(1).some((v) => rootOf(v) === r)) return;
    root.set(n.name, r);
    lastRead.set(r, Math.max(step, lastRead.get(n.name) ?? step));
  });

  const life = new Map<string, { first: number; last: number }>();
  const touch = (v: string, at: number) => {
    const step = at >= 0 && at < steps.length ? time[at] : at;
    const r = rootOf(v);
    if (graph.kind(r) === 'constant') return;
    const l = life.get(r);
    if (l) l.last = Math.max(l.last, step);
    else life.set(r, { first: graph.kind(r) === 'input' ? -1 : step, last: step });
  };
  for (const v of graph.inputs) touch(v.name, -1);
  steps.forEach((n, step) => {
    touch(n.name, step);
    for (const i of n.inputs) touch(i, step);
  });
  for (const v of Object.values(graph.outputs)) touch(v, steps.length);
  if (options.keepInputs) for (const v of graph.inputs) touch(v.name, steps.length);

  const entries = [...life.entries()].map(([name, l]) => ({ name, ...l, size: align(numel(graph.value(name).shape)) }));
  const placed: Buffer[] = [];
  const byRoot = new Map<string, Buffer>();
  const order = [...entries].sort((a, b) => b.size - a.size || a.first - b.first);
  for (const e of order) {
    const overlapping = placed
      .filter((p) => p.firstStep <= e.last && e.first <= p.lastStep)
      .sort((a, b) => a.offset - b.offset);
    let offset = 0;
    for (const p of overlapping) {
      if (offset + e.size <= p.offset) break;
      offset = Math.max(offset, p.offset + p.size);
    }
    const buffer = { id: placed.length, offset, size: e.size, firstStep: e.first, lastStep: e.last };
    placed.push(buffer);
    byRoot.set(e.name, buffer);
  }

  return {
    graph,
    steps,
    buffers: placed,
    options,
    arenaSize: placed.reduce((m, b) => Math.max(m, b.offset + b.size), 0),
    noReuseSize: placed.reduce((s, b) => s + b.size, 0),
    locate(value) {
      const r = rootOf(value);
      const buffer = byRoot.get(r);
      if (buffer) return { kind: 'arena', buffer };
      if (graph.kind(r) === 'constant') return { kind: 'constant', name: r };
      throw new Error(`value '${value}' has no location in the plan`);
    },
    isView: (node) => isView(node.op),
  };
}

function align(n: number): number {
  return Math.ceil(n / ARENA_ALIGN) * ARENA_ALIGN;
}
