import { cpuWasmSimdSupported } from '@tessera/backend-cpu';
import {
  allocating, checkArrayLimits, compileProgram, cpuKernel, createSharedWasmArena, noWasmReason, wasmMemoryReason, createWasmArena, loadSharedWasmGemmModule, loadWasmGemmModule,
  compileOptionsFor, loadWasmWinogradModule, maxScratch, sharedWasmMemorySupported, WasmGemm, type Memory, type Program, type AlgorithmMode,
} from '@tessera/backend-cpu/kernels';
import { isView, TesseraError, type Graph } from '@tessera/core';
import { kernelRegistry, planExecution, type Backend, type Executable, type ExecutionPlan, type PlanOptions } from '@tessera/runtime';
import { chainSpans, chainSteps } from './chain.js';
import { WorkersExecutable, type WorkersGemmPath } from './executable.js';
import { checkSharedMemory, detectHost } from './host.js';
import { MAIN, participantsOf, partitionStep, stepCost, type PartitionOptions } from './partition.js';
import { makeSchedule } from './schedule.js';
import { WorkerPool } from './pool.js';
import { SharedMemoryCache } from './memory-cache.js';
import type { FaultKind, ProgramMessage } from './protocol.js';
import type { TimelineRun } from './timeline.js';
import type { Part } from './types.js';

export type { WorkersGemmPath } from './executable.js';

export interface WorkersBackendOptions {
  /** Name the backend reports (and is registered under). Default 'workers'. */
  readonly name?: string;
  /**
   * Worker threads in the pool. Default: the cores (`os.availableParallelism()` /
   * `navigator.hardwareConcurrency`) minus one when the calling thread shares the work (the
   * default), so that the pool and the caller together use every core and no more.
   */
  readonly threads?: number;
  /** Watchdog: a worker that has not finished its part of a step (of a whole run, for runs without an observer) after this long fails the run. Default 60 000 ms. */
  readonly timeoutMs?: number;
  /** How long a worker may take to start. Default 60 000 ms. */
  readonly startTimeoutMs?: number;
  /**
   * The calling thread computes a share of every run too (default true). It then never waits
   * for a run to start or end: on a machine with as many threads as cores, a thread that only
   * waits would still wake up between runs and preempt a computing one.
   */
  readonly mainShare?: boolean;
  /**
   * Steps cheaper than this (cost units of `stepCost`, about a nanosecond of one thread each) run
   * inline on the main thread. Default 30 000: splitting a step of time T over two threads takes
   * T/2 + d, with d the overhead of a split step, which pays off from T = 2d. Within a whole run
   * of polling participants d is a few microseconds (`benchmarks/workers-scaling.ts
   * --calibrate`), so this default is still conservative; 100 000 left MobileNet v2's small
   * depthwise steps on one thread (docs/BENCHMARKS.md).
   */
  readonly inlineCost?: number;
  /**
   * How long idle threads poll before they sleep in Atomics.wait: a worker waiting for its next
   * command, the calling thread waiting for the end of a run. Default 2 ms when the calling thread
   * shares the work (the pool and the caller are as many threads as cores, so a polling thread
   * takes no core another needs, and back-to-back runs never pay a wake-up), else 0.05 ms.
   */
  readonly spinMs?: number;
  /** No part of a split step is cheaper than this (about d). Default 15 000. */
  readonly minPartCost?: number;
  /**
   * A graph whose steps cost less than this in total runs entirely on the main thread, like the
   * cpu backend: a handful of dispatches would cost more than the threads save. Default 500 000 (about half a millisecond).
   */
  readonly inlineGraphCost?: number;
  /**
   * 'auto' (default): the cpu backend's WebAssembly SIMD GEMM on one shared WebAssembly.Memory
   * where shared wasm memory and SIMD are available, else the TypeScript kernels over
   * SharedArrayBuffers; 'js': always the TypeScript kernels; 'wasm': the wasm GEMM or an error
   * from compile.
   */
  readonly gemm?: 'auto' | 'js' | 'wasm';
  /**
   * Record the timeline of whole runs: when each thread (the workers and the calling thread) ran
   * which range of which node; read it with `takeTimeline()`. Default false. Runs with an
   * observer (profiling: step by step, timed per node) and graphs that run inline are not recorded.
   */
  readonly timeline?: boolean;
  /**
   * Winograd F(4x4, 3x3) for eligible 3x3 convs, as on the cpu backend: 'auto' (default) where
   * it pays, 'always', or 'off' (false) for the direct algorithm's rounding bit for bit. A tile's
   * result does not depend on the range that computes it, so workers and cpu give the same bits.
   */
  readonly winograd?: AlgorithmMode | boolean;
  /**
   * Strassen-Winograd for matmuls with a constant b, as on the cpu backend ('auto' default,
   * 'always', 'off' or false). Rows run in panels, each on its own, so workers and cpu give the same bits.
   */
  readonly strassen?: AlgorithmMode | boolean;
  /** A conv / matmul takes the bias_add and relu after it into its epilogue, as on the cpu backend (default true). */
  readonly epilogues?: boolean;
}


/**
 * The path a default workers backend takes in this runtime: 'wasm-simd' where WebAssembly SIMD
 * validates and a shared WebAssembly.Memory can be created (Node; a cross-origin-isolated page),
 * else 'js'.
 */
export function workersGemmPath(): WorkersGemmPath {
  return cpuWasmSimdSupported() && sharedWasmMemorySupported() ? 'wasm-simd' : 'js';
}

const DEFAULTS = {
  timeoutMs: 60_000, startTimeoutMs: 60_000, mainShare: true, inlineCost: 30_000, minPartCost: 15_000, inlineGraphCost: 500_000,
  gemm: 'auto' as 'auto' | 'js' | 'wasm',
  timeline: false,
  winograd: 'auto' as AlgorithmMode | boolean,
  strassen: 'auto' as AlgorithmMode | boolean,
  epilogues: true,
};

let nextProgramId = 1;

/**
 * The cpu backend's kernels on a pool of worker threads (Node) or module Web Workers (browser),
 * over SharedArrayBuffer memory: each step is split into ranges of its units by a cost model and
 * the ranges run in parallel. The pool starts with the backend and is shared by its sessions.
 */
export class WorkersBackend implements Backend {
  readonly name: string;
  private readonly options: Required<Omit<WorkersBackendOptions, 'name' | 'threads' | 'spinMs'>> & { threads?: number };
  private readonly pool: Promise<WorkerPool>;
  private disposed = false;

  constructor(options: WorkersBackendOptions = {}) {
    checkSharedMemory();
    this.name = options.name ?? 'workers';
    this.options = { ...DEFAULTS, ...stripUndefined(options) };
    if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1)) {
      throw new Error(`backend '${this.name}': threads must be a positive integer, got ${options.threads}`);
    }
    this.pool = detectHost().then((host) =>
      WorkerPool.start(host, {
        threads: options.threads ?? Math.max(1, host.defaultThreads() - (this.options.mainShare ? 1 : 0)),
        timeoutMs: this.options.timeoutMs,
        startTimeoutMs: this.options.startTimeoutMs,
        spinMs: options.spinMs ?? (this.options.mainShare ? 2 : 0.05),
        timeline: this.options.timeline,
      }),
    );
    this.pool.catch(() => undefined); // reported by the first plan or compile
  }

  /** The GEMM path executables compiled by this backend use (exact per executable: `gemmPath` of the executable). */
  get gemmPath(): WorkersGemmPath {
    return this.options.gemm === 'js' ? 'js' : workersGemmPath();
  }

  /** The whole runs recorded since the last call, oldest first (`timeline` option; else none). */
  async takeTimeline(): Promise<TimelineRun[]> {
    return (await this.pool).dispatch.takeTimeline();
  }

  /** Waits until every worker has started; resolves to the pool size. */
  async ready(): Promise<number> {
    return (await this.pool).threads;
  }

  hasKernel(op: string): boolean {
    return isView(op) || kernelRegistry.has('cpu', op);
  }

  /**
   * The plan sessions run: the default plan, or, when chains whose followers write memory of
   * their own are possible (chain.ts), one that keeps each such chain's values apart so that
   * its steps can run without a barrier. Which chains are possible depends on step facts alone
   * (kernels, units, costs), not on offsets: they are read from a program compiled over the
   * default plan and then dropped.
   */
  async plan(graph: Graph, options: PlanOptions): Promise<ExecutionPlan> {
    const pool = await this.livePool();
    const plan = planExecution(graph, options);
    const module = this.options.gemm === 'js' ? null : await loadSharedWasmGemmModule();
    const facts = compileProgram(plan, cpuKernel, this.name, compileOptionsFor(module !== null, this.options));
    const simd = module !== null;
    if (this.runsInline(facts, simd)) return plan;
    const spans = chainSpans(chainSteps(graph, facts.nodeSteps, this.partition(facts, pool.threads, false, simd), null, simd));
    return spans.length ? planExecution(graph, { ...options, together: spans }) : plan;
  }

  /**
   * Compiles `graph` over `plan` as given. Chains form only where `plan` keeps their values
   * apart (chainSteps checks the memory), so a plan made elsewhere (planExecution's) runs
   * correctly too, with fewer chains.
   */
  async compile(graph: Graph, plan: ExecutionPlan): Promise<Executable> {
    const pool = await this.livePool();
    const { program, mem, scratch, memory, reason } = await this.allocate(graph, plan, pool.threads);
    // The wasm path (its memory has the wasm GEMM): depthwise steps run the SIMD loop (the cost model's prices).
    const simd = mem.gemm !== undefined;
    const parts = this.partition(program, pool.threads, memory === null, simd);
    const chains = chainSteps(graph, program.nodeSteps, parts, plan, simd);
    this.splitOnItems(program, parts, pool.threads, chains.grains, simd);
    const schedule = makeSchedule(program.nodeSteps, parts, chains, participantsOf({ threads: pool.threads, mainShare: this.options.mainShare }), simd);
    const id = nextProgramId++;
    if (parts.some((p) => p && p.some((q) => q.worker !== MAIN))) {
      await pool.load({ type: 'load', id, schedule, memory: memory! });
    }
    const shared = memory?.kind === 'wasm' ? memory.memory : null;
    const release = shared && (() => (this.disposed ? undefined : this.memories.give(shared)));
    return new WorkersExecutable(graph.nodes, program, mem, scratch, schedule, this.options.mainShare, id, pool, this.callerFaults, release, reason);
  }

  /** The started pool, or the reason there is none. */
  private async livePool(): Promise<WorkerPool> {
    if (this.disposed) throw new Error(`backend '${this.name}' is disposed`);
    return this.pool;
  }

  private partitionOptions(threads: number, simd: boolean): PartitionOptions {
    return { threads, mainShare: this.options.mainShare, inlineCost: this.options.inlineCost, minPartCost: this.options.minPartCost, simd };
  }

  /** Parts of every step. */
  private partition(program: Program, threads: number, inline: boolean, simd: boolean): (Part[] | null)[] {
    const o = this.partitionOptions(threads, simd);
    return program.nodeSteps.map((step) => {
      if (!step) return null;
      if (inline) return [{ worker: MAIN, start: 0, end: step.units }];
      return partitionStep(step, o);
    });
  }

  /** The heads of item-wise chains split again on whole items, their grain (whether a step splits stays the same). */
  private splitOnItems(program: Program, parts: (Part[] | null)[], threads: number, grains: readonly (number | null)[], simd: boolean): void {
    const o = this.partitionOptions(threads, simd);
    grains.forEach((grain, i) => {
      if (grain !== null) parts[i] = partitionStep(program.nodeSteps[i]!, o, grain);
    });
  }

  /**
   * The program and its memory. wasm path: one shared, fixed-size WebAssembly.Memory with a
   * scratch region per worker (by slot index) and one for the main thread, then the arena and
   * the weights; the main thread and every worker bind their own WasmGemm instance to it. JS
   * path (no shared wasm memory / SIMD, or a graph too large for wasm32): two SharedArrayBuffers,
   * and `reason` says why.
   */
  private async allocate(graph: Graph, plan: ExecutionPlan, threads: number): Promise<Allocation> {
    const choice = this.options.gemm;
    const module = choice === 'js' ? null : await loadSharedWasmGemmModule();
    if (choice === 'wasm' && !module) {
      throw new Error(`backend '${this.name}': gemm 'wasm' requested but WebAssembly SIMD or shared WebAssembly.Memory is not available`);
    }
    let reason = noWasmReason(choice, 'WebAssembly SIMD or a shared WebAssembly.Memory');
    if (module) {
      const wasm = await this.allocateWasm(plan, threads, module);
      if ('program' in wasm) return wasm;
      reason = wasmMemoryReason(wasm.bytes);
      if (choice === 'wasm') throw new TesseraError(`graph '${graph.name}' on backend '${this.name}': ${reason}`);
    }
    const program = compileProgram(plan, cpuKernel, this.name, compileOptionsFor(false, this.options));
    checkArrayLimits(graph.name, this.name, program);
    const inline = this.runsInline(program, false);
    const mem: Memory = allocating(graph.name, this.name, 4 * (program.arenaSize + program.weightsSize), () => ({
      arena: new Float32Array(inline ? new ArrayBuffer(4 * program.arenaSize) : new SharedArrayBuffer(4 * Math.max(1, program.arenaSize))),
      weights: new Float32Array(inline ? new ArrayBuffer(4 * program.weightsSize) : new SharedArrayBuffer(4 * Math.max(1, program.weightsSize))),
    }));
    program.fillWeights(mem.weights);
    const memory: ProgramMessage['memory'] | null = inline
      ? null
      : { kind: 'js', arena: mem.arena.buffer as SharedArrayBuffer, weights: mem.weights.buffer as SharedArrayBuffer };
    return { program, mem, scratch: null, memory, reason };
  }

  /** The wasm path's program and memory, or the bytes one WebAssembly memory would have needed. */
  private async allocateWasm(plan: ExecutionPlan, threads: number, module: WebAssembly.Module): Promise<Allocation | { bytes: number }> {
    // Compiled asynchronously here so that binding never compiles on a browser's main thread.
    await Promise.all([loadWasmWinogradModule(true), loadWasmWinogradModule(false)]);
    const program = compileProgram(plan, cpuKernel, this.name, compileOptionsFor(true, this.options));
    const scratchSize = maxScratch(program);
    if (this.runsInline(program, true)) {
      // Runs on the main thread only: unshared memory, exactly like the cpu backend (a shared
      // memory is not backed by transparent huge pages: streaming large weights was slower).
      const own = createWasmArena([scratchSize, program.arenaSize, program.weightsSize], await loadWasmGemmModule());
      if (own) {
        const [scratch, arena, weights] = own.regions;
        program.fillWeights(weights);
        return { program, mem: { arena, weights, gemm: own.gemm }, scratch, memory: null, reason: null };
      }
    }
    const shared = createSharedWasmArena(threads + 1, scratchSize, [program.arenaSize, program.weightsSize], (bytes) => this.memories.take(bytes));
    if (!shared) return { bytes: 4 * ((threads + 1) * scratchSize + program.arenaSize + program.weightsSize) };
    const buffer = shared.memory.buffer;
    const [arena, weights] = shared.regions;
    const main = shared.threads[threads];
    const mem: Memory = {
      arena: new Float32Array(buffer, arena.byteOffset, arena.length),
      weights: new Float32Array(buffer, weights.byteOffset, weights.length),
      gemm: new WasmGemm(shared.memory, main.gemmByteOffset, module),
    };
    program.fillWeights(mem.weights);
    return {
      program,
      mem,
      scratch: new Float32Array(buffer, main.scratchByteOffset, main.scratchLength),
      memory: { kind: 'wasm', memory: shared.memory, module, arena, weights, scratch: shared.threads.slice(0, threads) },
      reason: null,
    };
  }

  /** Graphs whose steps cost less than `inlineGraphCost` in total run entirely on the main thread. */
  private runsInline(program: Program, simd: boolean): boolean {
    return program.steps.reduce((sum, step) => sum + stepCost(step, simd), 0) < this.options.inlineGraphCost;
  }

  /** Terminates the pool's workers. Sessions of this backend cannot run afterwards. */
  async dispose(): Promise<void> {
    this.disposed = true;
    this.memories.clear();
    const pool = await this.pool.catch(() => null);
    await pool?.dispose();
  }

  /** Hooks for tests; not part of the stable API. */
  readonly testHooks = {
    /** Worker `worker` throws, exits (process.exit in Node) or hangs the next time it runs a part of `node`. */
    injectFault: async (worker: number, node: string, kind: FaultKind): Promise<void> => (await this.pool).injectFault(worker, node, kind),
    /** Thread ids of the pool's live workers, by slot (null for a slot whose worker is gone). */
    threadIds: async (): Promise<(number | null)[]> => (await this.pool).threadIds(),
    /** Steps the pool has dispatched to its workers (split or not) since it started. */
    dispatchedSteps: async (): Promise<number> => (await this.pool).dispatch.dispatchedSteps,
    /** Programs the pool's workers hold (executables not disposed yet). */
    loadedPrograms: async (): Promise<number> => (await this.pool).loadedPrograms,
    /** Shared memories of disposed executables kept for reuse (memory-cache.ts; bounded). */
    cachedMemories: (): number => this.memories.size,
    /** The calling thread throws the next time it enters `node` in a whole run it shares. */
    failCaller: (node: string): void => void this.callerFaults.add(node),
  };

  /** Shared memories of disposed executables, for the next compile (memory-cache.ts). */
  private readonly memories = new SharedMemoryCache();

  /** Test hook state (failCaller), shared with the executables. */
  private readonly callerFaults = new Set<string>();
}

/** A compiled program and its memory (`memory`: what the workers get; null when they get nothing). */
interface Allocation {
  program: Program;
  mem: Memory;
  scratch: Float32Array | null;
  memory: ProgramMessage['memory'] | null;
  /** Why it runs the JS GEMM (null on the wasm path). */
  reason: string | null;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
