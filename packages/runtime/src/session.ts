import { STORED_BATCH, TesseraError, atBatch, batchOfFeeds, numel, validateFeeds, type Feeds, type Graph, type Node } from '@tessera/core';
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
  /**
   * A graph whose batch is open (`g.input('x', [null, ...])`) is planned and compiled once per
   * batch size its feeds bring; the session keeps the latest `maxPlans` of them (default 4) and
   * disposes older ones.
   */
  readonly maxPlans?: number;
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
  /** The batch of the latest plan (the figures above are its), and how many batches are planned now. */
  readonly batch: number;
  readonly plans: number;
  /** Node name -> algorithm where the backend runs one other than the op's direct one (e.g. 'winograd-f4x4'); empty elsewhere. */
  readonly algorithms: ReadonlyMap<string, string>;
  /** Node name -> the node that runs it in its epilogue (a bias_add or relu taken by a conv); empty elsewhere. */
  readonly epilogues: ReadonlyMap<string, string>;
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
  if (bindIO && graph.openBatch) {
    throw new TesseraError(`session option 'bindIO' needs a fixed batch, but graph '${graph.name}' leaves it open (input ${graph.inputs.find((v) => v.openBatch)!.name})`);
  }
  const traceRuns = options.traceRuns ?? DEFAULT_TRACE_RUNS;
  if (!(Number.isInteger(traceRuns) && traceRuns >= 0)) throw new TesseraError(`session option 'traceRuns' must be a non-negative integer, got ${traceRuns}`);
  const maxPlans = options.maxPlans ?? DEFAULT_MAX_PLANS;
  if (!(Number.isInteger(maxPlans) && maxPlans >= 1)) throw new TesseraError(`session option 'maxPlans' must be a positive integer, got ${maxPlans}`);
  const first = await compileAt(backend, graph, STORED_BATCH, bindIO);
  return new Session(graph, backend, first, { profile: options.profile ?? false, bindIO, traceRuns, maxPlans });
}

const DEFAULT_TRACE_RUNS = 100;
const DEFAULT_MAX_PLANS = 4;

/** A graph planned and compiled at one batch. */
interface Compiled {
  readonly batch: number;
  /** The graph at this batch (static). */
  readonly graph: Graph;
  readonly plan: ExecutionPlan;
  readonly executable: Executable;
  readonly compileMs: number;
  /** Bytes each node reads and writes, for its events. */
  readonly nodeBytes: ReadonlyMap<Node, number>;
}

async function compileAt(backend: Backend, graph: Graph, batch: number, bindIO: boolean): Promise<Compiled> {
  const start = performance.now();
  const at = atBatch(graph, batch);
  const planOptions = { keepInputs: bindIO };
  const plan = backend.plan ? await backend.plan(at, planOptions) : planExecution(at, planOptions);
  const executable = await backend.compile(at, plan);
  const nodeBytes = new Map(at.nodes.map((n) => [n, 4 * (numel(n.output.shape) + n.inputs.reduce((s, i) => s + numel(at.value(i).shape), 0))]));
  return { batch, graph: at, plan, executable, compileMs: performance.now() - start, nodeBytes };
}

const NONE: ReadonlyMap<string, string> = new Map();

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
  private readonly maxPlans: number;
  private runCount = 0;
  private disposed = false;
  /** Compiled batches, least recently run first; `latest` is the last one. */
  private readonly compiled: Compiled[];

  /** Sessions are made by `createSession`. */
  constructor(
    /** The graph as given (its batch may be open). */
    readonly graph: Graph,
    private readonly backend: Backend,
    first: Compiled,
    options: { readonly profile: boolean; readonly bindIO: boolean; readonly traceRuns: number; readonly maxPlans: number },
  ) {
    this.profile = options.profile;
    this.bindIO = options.bindIO;
    this.traceRuns = options.traceRuns;
    this.maxPlans = options.maxPlans;
    this.compiled = [first];
  }

  private get latest(): Compiled {
    return this.compiled[this.compiled.length - 1];
  }

  /** The executable of the latest batch run (backends' own tests and tools look inside it). */
  get executable(): Executable {
    return this.latest.executable;
  }

  /** The plan of the latest batch run (the only one for a graph whose batch is fixed). */
  get plan(): ExecutionPlan {
    return this.latest.plan;
  }

  get stats(): SessionStats {
    const { plan, executable, compileMs, batch } = this.latest;
    return {
      backend: this.backend.name,
      peakBytes: plan.arenaSize * 4,
      noReuseBytes: plan.noReuseSize * 4,
      compileMs,
      runs: this.runCount,
      kernels: executable.gemmPath,
      kernelsReason: executable.gemmReason ?? undefined,
      batch,
      plans: this.compiled.length,
      algorithms: executable.algorithms ?? NONE,
      epilogues: executable.epilogues ?? NONE,
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
    this.bound ??= this.latest.executable.ioBuffers?.() ?? {
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
    for (const c of this.compiled.splice(0)) c.executable.dispose();
    this.subject.complete();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private async runNow(feeds: Feeds, into?: Outputs): Promise<Outputs> {
    if (this.disposed) throw new TesseraError(`session of graph '${this.graph.name}' on backend '${this.backend.name}' is disposed; create a new session`);
    const compiled = await this.compiledFor(feeds);
    validateFeeds(compiled.graph, feeds);
    if (into) validateOutputBuffers(compiled.graph, into);
    const outputs = await this.runObserved(compiled, feeds, into);
    // Backends may ignore `into`: then the outputs are copied there.
    for (const name of Object.keys(into ?? {})) {
      if (outputs[name] !== into![name]) into![name].set(outputs[name]);
      outputs[name] = into![name];
    }
    return outputs;
  }

  /** The compiled graph for the feeds' batch: planned and compiled on first sight, the oldest disposed beyond `maxPlans`. */
  private async compiledFor(feeds: Feeds): Promise<Compiled> {
    const batch = this.graph.openBatch ? batchOfFeeds(this.graph, feeds) : STORED_BATCH;
    // The common case (a fixed batch, or the batch of the last run) allocates nothing.
    if (this.latest.batch === batch) return this.latest;
    const at = this.compiled.findIndex((c) => c.batch === batch);
    const compiled = at >= 0 ? this.compiled.splice(at, 1)[0] : await compileAt(this.backend, this.graph, batch, this.bindIO);
    this.compiled.push(compiled);
    if (this.compiled.length > this.maxPlans) this.compiled.shift()!.executable.dispose();
    return compiled;
  }

  private async runObserved(compiled: Compiled, feeds: Feeds, into: Outputs | undefined): Promise<Outputs> {
    const { executable, nodeBytes } = compiled;
    const run = ++this.runCount;
    const listening = this.profile || this.subject.observed;
    if (!listening) return executable.run(feeds, undefined, into);
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
      nodeStart: (node, at) => {
        const time = at ?? performance.now();
        starts.set(node, time);
        emit({ type: 'node-start', run, backend, node: node.name, op: node.op, time });
      },
      nodeEnd: (node, at) => {
        const time = at ?? performance.now();
        const duration = time - (starts.get(node) ?? time);
        emit({ type: 'node-end', run, backend, node: node.name, op: node.op, time, duration, bytes: nodeBytes.get(node) ?? 0 });
      },
    };
    const t0 = performance.now();
    emit({ type: 'run-start', run, backend, time: t0 });
    const outputs = await executable.run(feeds, observer, into);
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
