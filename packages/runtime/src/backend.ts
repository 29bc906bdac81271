import type { Feeds, Graph, Node } from '@tessera/core';
import type { ExecutionPlan, PlanOptions } from './plan.js';

/** Results of one run: a Float32Array per graph output name, owned by the caller. */
export type Outputs = Record<string, Float32Array>;

/** Arrays for a graph's inputs and outputs, by name (see `Executable.ioBuffers`, `Session.io`). */
export interface IOBuffers {
  readonly inputs: Feeds;
  readonly outputs: Outputs;
}

/**
 * Told when each node starts and ends; sessions use it for events and traces. `time`
 * (performance.now() of the caller's thread) is for a backend that ran the nodes elsewhere and
 * tells afterwards (a browser page); without it, the call is the moment.
 */
export interface NodeObserver {
  nodeStart(node: Node, time?: number): void;
  nodeEnd(node: Node, time?: number): void;
}

/**
 * A graph compiled for one backend: weights uploaded, buffers planned, kernels or programs
 * ready. `run` may be called many times, one run at a time (the session serializes them).
 */
export interface Executable {
  /**
   * `into`: the caller's buffers for some outputs (the session has checked their names and
   * lengths). A backend that can writes those outputs there and returns them; one that ignores
   * `into` is correct too (the session copies).
   */
  run(feeds: Feeds, observer?: NodeObserver, into?: Outputs): Promise<Outputs>;
  /**
   * Optional: the backend's own memory for the graph's inputs and outputs, as arrays the caller
   * can write and read (cpu, workers), for sessions with `bindIO`. A run given these very
   * arrays (as feeds, and as `into`) copies nothing. Absent or null (a GPU backend): the
   * session stages inputs and outputs in arrays of its own.
   */
  ioBuffers?(): IOBuffers | null;
  /** Optional: the GEMM conv2d / matmul run on ('wasm-simd', 'js'), for `Session.stats.kernels`. */
  readonly gemmPath?: string;
  /** Optional: why this path and not a faster one (e.g. the graph is too large for a WebAssembly memory); null when nothing was given up. */
  readonly gemmReason?: string | null;
  /**
   * Optional: node name -> algorithm, for the nodes run with one whose rounding differs from the
   * op's direct definition (e.g. 'winograd-f4x4'): conformance widens exactly those nodes' bounds
   * (core's `algorithmWiden`). Absent or empty: every node runs its direct algorithm.
   */
  readonly algorithms?: ReadonlyMap<string, string>;
  /**
   * Optional: node name -> the node whose kernel does its work in an epilogue (a bias_add or relu
   * run by the conv before it). Such a node's events are empty: its time is its host's.
   */
  readonly epilogues?: ReadonlyMap<string, string>;
  /** Frees everything the compile allocated (buffers, textures, packed weights). */
  dispose(): void;
}

/**
 * The contract every backend implements, Tessera's and a user's alike. Backends are asynchronous
 * (WebGL and worker pools are): compile once, run many times, dispose.
 */
export interface Backend {
  readonly name: string;
  /** Whether the backend can run this op; compile refuses a graph with an op it cannot. */
  hasKernel(op: string): boolean;
  /**
   * Optional: the plan this backend runs `graph` with. A backend whose scheduling constrains
   * memory (the workers backend's chains need their values apart) plans here, once; the session
   * reports this plan's arena and hands it to `compile`. Without it the session calls
   * `planExecution(graph, options)`. The returned plan must keep `options`.
   */
  plan?(graph: Graph, options: PlanOptions): Promise<ExecutionPlan>;
  compile(graph: Graph, plan: ExecutionPlan): Promise<Executable>;
  /** Releases what the backend holds for all its executables (workers, GL context). */
  dispose(): Promise<void>;
}
