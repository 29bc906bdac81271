import type { Buffer, ExecutionPlan, Location, PlanOptions } from '@tessera/runtime';
import type { Graph, Node } from '@tessera/core';

/** A plan as plain data, so that it can cross between Node and the page. */
export interface PlanData {
  /** Node names in execution order. */
  readonly steps: readonly string[];
  /** The steps that are views (no kernel runs). */
  readonly views: readonly string[];
  readonly arenaSize: number;
  readonly noReuseSize: number;
  readonly buffers: readonly Buffer[];
  readonly options: PlanOptions;
  /** Where each input, node output and constant lives: a buffer id, or the constant's name. */
  readonly locations: readonly (readonly [string, number | string])[];
}

/**
 * A graph as it crosses to the page: its JSON, with the weights inline (small graphs, one call),
 * or held apart in a sidecar the page fetches in chunks from `path` + chunk index (see graph-upload.ts).
 */
export interface GraphSource {
  readonly json: unknown;
  readonly sidecar?: { readonly path: string; readonly chunks: number; readonly chunkBytes: number; readonly bytes: number };
}

/** What the page holds for Node: graphs planned and not compiled yet, and compiled graphs. */
export interface PageHeld {
  readonly planned: number;
  readonly executables: number;
}

/** What a graph compiled on the page is known by, and what its executable reports (runtime's `Executable`). */
export interface PageCompiled {
  readonly id: number;
  readonly gemmPath?: string;
  readonly gemmReason?: string | null;
  readonly algorithms: readonly (readonly [string, string])[];
  readonly epilogues: readonly (readonly [string, string])[];
}

/** A run on the page: outputs as base64 float32, and with `observe` each node's [name, start, end] in ms after the run began. */
export interface PageRun {
  readonly outputs: Record<string, string>;
  readonly nodes: readonly (readonly [string, number, number])[] | null;
  readonly ms: number;
}

/** What the page offers Node (`globalThis.tessera`); graphs cross as GraphSource, tensors as base64 float32. */
export interface PageApi {
  backends(): string[];
  /** The ops the named backend of the page has kernels for. */
  kernels(backend: string): string[];
  /** Plans a graph with the page's backend; the graph stays on the page under `id` for `compile(id)`. */
  plan(graph: GraphSource, backend: string, options: PlanOptions): Promise<{ id: number; plan: PlanData }>;
  /** Compiles a graph planned on the page (by id), or a graph sent with the plan to use. */
  compile(source: number | { readonly graph: GraphSource; readonly plan: PlanData }, backend: string): Promise<PageCompiled>;
  /** Runs a compiled graph; `observe`: also when each node started and ended (ms after the run began; the run's ms). */
  run(id: number, feeds: Record<string, string>, observe: boolean): Promise<PageRun>;
  dispose(id: number): void;
  held(): PageHeld;
}

export function planToData(plan: ExecutionPlan): PlanData {
  const { graph } = plan;
  const values = [...graph.inputs.map((v) => v.name), ...graph.nodes.map((n) => n.name), ...graph.constants.keys()];
  const locations: [string, number | string][] = [];
  for (const v of values) {
    const l = locateOrNull(plan, v);
    if (l) locations.push([v, l.kind === 'arena' ? l.buffer.id : l.name]);
  }
  return {
    steps: plan.steps.map((n) => n.name),
    views: plan.steps.filter((n) => plan.isView(n)).map((n) => n.name),
    arenaSize: plan.arenaSize,
    noReuseSize: plan.noReuseSize,
    buffers: plan.buffers.map((b) => ({ ...b })),
    options: plan.options,
    locations,
  };
}

/** The plan `data` describes, over `graph` (the same graph, on this side). */
export function planFromData(graph: Graph, data: PlanData): ExecutionPlan {
  const nodes = new Map(graph.nodes.map((n) => [n.name, n]));
  const buffers = new Map(data.buffers.map((b) => [b.id, b]));
  const locations = new Map(data.locations);
  const views = new Set(data.views);
  return {
    graph,
    steps: data.steps.map((name) => nodes.get(name) ?? missing(`step '${name}' is not a node of graph '${graph.name}'`)),
    arenaSize: data.arenaSize,
    noReuseSize: data.noReuseSize,
    buffers: data.buffers,
    options: data.options,
    locate(value) {
      const l = locations.get(value);
      if (typeof l === 'number') return { kind: 'arena', buffer: buffers.get(l)! };
      if (typeof l === 'string') return { kind: 'constant', name: l };
      throw new Error(`value '${value}' has no location in the plan`);
    },
    isView: (node: Node) => views.has(node.name),
  };
}

function locateOrNull(plan: ExecutionPlan, value: string): Location | null {
  try {
    return plan.locate(value);
  } catch {
    return null; // a value the plan places nowhere (unused by the backend)
  }
}

function missing(what: string): never {
  throw new Error(`plan from the page: ${what}`);
}
