import { TesseraError, numel, validateFeeds, type Feeds, type Graph, type Node } from '@tessera/core';
import type { Container } from 'inversify';
import { Observable, Subject, concatMap, from, type OperatorFunction } from 'rxjs';
import type { Backend, Executable, IOBuffers, NodeObserver, Outputs } from './backend.js';
import { defaultContainer, getBackend } from './container.js';
import { toChromeTrace, type ExecEvent } from './events.js';
import { planExecution, type ExecutionPlan } from './plan.js';

export interface SessionOptions {
  /** Backend name, as registered in the container. Default 'cpu'. */
  readonly backend?: string;
  readonly container?: Container;
  /** Emit (and record for trace()) node events even when nobody subscribes to events$. */
  readonly profile?: boolean;
  /** How many of the latest observed runs trace() keeps (older runs are dropped). Default 100. */
  readonly traceRuns?: number;
  /**
   * Bind inputs and outputs to the backend's memory (like ONNX Runtime's IOBinding): `session.io`
   * then holds an array per input and output, and a run given those arrays copies nothing in or
   * out where the backend computes in memory the caller can reach (cpu, workers). Inputs keep
   * their memory for the whole run, so an input written once serves any number of runs (the
   * plan then reuses less memory). Default false.
   */
  readonly bindIO?: boolean;
}

export interface RunOptions {
  /**
   * Buffers to write outputs into, by output name (some or all). The run returns them instead
   * of fresh arrays: a loop that runs a graph many times allocates nothing per run (a fresh
   * multi-megabyte array costs page faults, on some machines more than the kernels).
   */
  readonly outputs?: Outputs;
}

export interface SessionStats {
  readonly backend: string;
  /** Bytes of the planned arena (inputs and intermediates, after buffer reuse). */
  readonly peakBytes: number;
  /** Bytes the same buffers would take without reuse. */
  readonly noReuseBytes: number;
  readonly compileMs: number;
  readonly runs: number;
  /** The GEMM the executable runs conv2d / matmul on ('wasm-simd', 'js'), where the backend says. */
  readonly kernels?: string;
  /** Why `kernels` is not the fastest path (e.g. the graph is too large for a WebAssembly memory), where it is not. */
  readonly kernelsReason?: string;
  /** Node name -> algorithm where the backend runs one other than the op's direct one (e.g. 'winograd-f4x4'); empty elsewhere. */
  readonly algorithms: ReadonlyMap<string, string>;
}

/** Compiles `graph` on the named backend and returns a session ready to run it. */
export async function createSession(graph: Graph, options: SessionOptions = {}): Promise<Session> {
  const name = options.backend ?? 'cpu';
  const backend = getBackend(options.container ?? defaultContainer, name);
  for (const node of graph.nodes) {
    if (!backend.hasKernel(node.op)) {
      throw new TesseraError(`backend '${name}' has no kernel for op '${node.op}'`, { node: node.name, op: node.op });
    }
  }
  const bindIO = options.bindIO ?? false;
  const start = performance.now();
  const planOptions = { keepInputs: bindIO };
  const plan = backend.plan ? await backend.plan(graph, planOptions) : planExecution(graph, planOptions);
  const executable = await backend.compile(graph, plan);
  const traceRuns = options.traceRuns ?? DEFAULT_TRACE_RUNS;
  if (!(Number.isInteger(traceRuns) && traceRuns >= 0)) {
    executable.dispose();
    throw new TesseraError(`session option 'traceRuns' must be a non-negative integer, got ${traceRuns}`);
  }
  return new Session(graph, backend, plan, executable, performance.now() - start, { profile: options.profile ?? false, bindIO, traceRuns });
}

const DEFAULT_TRACE_RUNS = 100;
const NO_ALGORITHMS: ReadonlyMap<string, string> = new Map();

/**
 * A graph compiled on a backend. Runs are serialized (one at a time, in call order); events
 * are emitted only while someone listens (or with `profile`), so an unobserved run pays nothing.
 * An observed run's events are also kept for `trace()`, for the latest `traceRuns` observed runs
 * only (default 100): a session observed for its whole life keeps bounded memory, and a trace
 * taken at any time shows the recent runs whole.
 */
export class Session {
  private readonly subject = new Subject<ExecEvent>();
  /** Node start / end and run start / end events, with durations and bytes. */
  readonly events$: Observable<ExecEvent> = this.subject.asObservable();
  /** The events of the latest observed runs, oldest first, at most `traceRuns` of them. */
  private readonly recorded: ExecEvent[][] = [];
  private readonly profile: boolean;
  private readonly bindIO: boolean;
  private readonly traceRuns: number;
  private queue: Promise<unknown> = Promise.resolve();
  private runCount = 0;
  private disposed = false;
  private readonly nodeBytes: Map<Node, number>;

  constructor(
    readonly graph: Graph,
    private readonly backend: Backend,
    readonly plan: ExecutionPlan,
    private executable: Executable,
    private readonly compileMs: number,
    options: { readonly profile: boolean; readonly bindIO: boolean; readonly traceRuns: number } = { profile: false, bindIO: false, traceRuns: DEFAULT_TRACE_RUNS },
  ) {
    this.profile = options.profile;
    this.bindIO = options.bindIO;
    this.traceRuns = options.traceRuns;
    this.nodeBytes = new Map(
      graph.nodes.map((n) => [n, 4 * (numel(n.output.shape) + n.inputs.reduce((s, i) => s + numel(graph.value(i).shape), 0))]),
    );
  }

  get stats(): SessionStats {
    return {
      backend: this.backend.name,
      peakBytes: this.plan.arenaSize * 4,
      noReuseBytes: this.plan.noReuseSize * 4,
      compileMs: this.compileMs,
      runs: this.runCount,
      kernels: this.executable.gemmPath,
      kernelsReason: this.executable.gemmReason ?? undefined,
      algorithms: this.executable.algorithms ?? NO_ALGORITHMS,
    };
  }

  private bound: IOBuffers | null = null;

  /**
   * The bound input and output arrays of a session created with `bindIO`: write the inputs in
   * place, then `run(session.io.inputs, { outputs: session.io.outputs })`. Outputs are valid
   * until the next run; do not write the inputs while a run is in flight. Backends without
   * caller-reachable memory get arrays of the session's own (the run then copies as usual).
   */
  get io(): IOBuffers {
    if (!this.bindIO) throw new TesseraError(`session of graph '${this.graph.name}' was created without bindIO: it has no bound input / output arrays`);
    this.bound ??= this.executable.ioBuffers?.() ?? {
      inputs: Object.fromEntries(this.graph.inputs.map((v) => [v.name, new Float32Array(numel(v.shape))])),
      outputs: Object.fromEntries(Object.entries(this.graph.outputs).map(([name, v]) => [name, new Float32Array(numel(this.graph.value(v).shape))])),
    };
    return this.bound;
  }

  /** Runs the graph once. Feeds (and `options.outputs`) are checked first; an error names the input (output). */
  run(feeds: Feeds, options: RunOptions = {}): Promise<Outputs> {
    const result = this.queue.then(() => this.runNow(feeds, options.outputs));
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** An rxjs operator: each feed object in, its outputs out, in order, one run at a time. */
  infer(): OperatorFunction<Feeds, Outputs> {
    return concatMap((feeds) => from(this.run(feeds)));
  }

  /** The latest observed runs (`traceRuns` of them) as Chrome trace-event JSON (chrome://tracing, Perfetto). */
  trace(): ReturnType<typeof toChromeTrace> {
    return toChromeTrace(this.recorded.flat());
  }

  /** Frees the compiled graph; later runs are refused. The backend stays (it belongs to the container). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.executable.dispose();
    this.subject.complete();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private async runNow(feeds: Feeds, into?: Outputs): Promise<Outputs> {
    if (this.disposed) throw new TesseraError(`session of graph '${this.graph.name}' on backend '${this.backend.name}' is disposed; create a new session`);
    validateFeeds(this.graph, feeds);
    if (into) validateOutputBuffers(this.graph, into);
    const outputs = await this.runObserved(feeds, into);
    // Backends may ignore `into`: then the outputs are copied there.
    for (const name of Object.keys(into ?? {})) {
      if (outputs[name] !== into![name]) into![name].set(outputs[name]);
      outputs[name] = into![name];
    }
    return outputs;
  }

  private async runObserved(feeds: Feeds, into: Outputs | undefined): Promise<Outputs> {
    const run = ++this.runCount;
    const listening = this.profile || this.subject.observed;
    if (!listening) return this.executable.run(feeds, undefined, into);
    const backend = this.backend.name;
    const events: ExecEvent[] = [];
    if (this.traceRuns > 0) this.recorded.push(events);
    if (this.recorded.length > this.traceRuns) this.recorded.shift();
    const emit = (e: ExecEvent) => {
      events.push(e);
      this.subject.next(e);
    };
    const starts = new Map<Node, number>();
    const observer: NodeObserver = {
      nodeStart: (node) => {
        const time = performance.now();
        starts.set(node, time);
        emit({ type: 'node-start', run, backend, node: node.name, op: node.op, time });
      },
      nodeEnd: (node) => {
        const time = performance.now();
        const duration = time - (starts.get(node) ?? time);
        emit({ type: 'node-end', run, backend, node: node.name, op: node.op, time, duration, bytes: this.nodeBytes.get(node) ?? 0 });
      },
    };
    const t0 = performance.now();
    emit({ type: 'run-start', run, backend, time: t0 });
    const outputs = await this.executable.run(feeds, observer, into);
    const t1 = performance.now();
    emit({ type: 'run-end', run, backend, time: t1, duration: t1 - t0 });
    return outputs;
  }
}

/** Output buffers must name outputs of the graph and be Float32Arrays of the output's size. */
function validateOutputBuffers(graph: Graph, into: Outputs): void {
  if (into === null || typeof into !== 'object') throw new TesseraError(`run option 'outputs' must be an object of Float32Array by output name`);
  const seen = new Map<Float32Array, string>();
  for (const [name, buffer] of Object.entries(into)) {
    const value = graph.outputs[name];
    if (value === undefined) {
      throw new TesseraError(`output buffer '${name}' is not an output of graph '${graph.name}' (outputs: ${Object.keys(graph.outputs).join(', ')})`);
    }
    const shape = graph.value(value).shape;
    if (!(buffer instanceof Float32Array)) {
      throw new TesseraError(`output buffer '${name}' must be a Float32Array, got ${Object.prototype.toString.call(buffer).slice(8, -1)}`);
    }
    if (buffer.length !== numel(shape)) {
      throw new TesseraError(`output buffer '${name}' of shape [${shape.join(', ')}] needs ${numel(shape)} values, got ${buffer.length}`);
    }
    const other = seen.get(buffer);
    if (other !== undefined) throw new TesseraError(`outputs '${other}' and '${name}' were given the same buffer`);
    seen.set(buffer, name);
  }
}
