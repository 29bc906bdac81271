import { isView, TesseraError, type Feeds, type Graph } from '@tessera/core';
import { kernelRegistry, planExecution, type Backend, type PlanOptions, type Executable, type ExecutionPlan, type IOBuffers, type NodeObserver, type Outputs } from '@tessera/runtime';
import { loadWasmDepthwiseModule } from './kernels/wasm/depthwise.js';
import { loadWasmElementwiseModule } from './kernels/wasm/elementwise.js';
import { createWasmArena } from './kernels/wasm/arena.js';
import { loadWasmGemmModule, wasmGemmModule } from './kernels/wasm/gemm.js';
import { wasmRelaxedSimdSupported, wasmSimdSupported } from './kernels/wasm/module.js';
import { aliases } from './kernels/wasm/views.js';
import { allocating, checkArrayLimits, noWasmReason, wasmMemoryReason } from './limits.js';
import { loadWasmWinogradModule } from './kernels/wasm/winograd.js';
import { itemRuns, ITEM_BLOCK_BYTES, runOrder, runSpans, type ItemRun } from './item-runs.js';
import { compileProgram, emptyEvents, programAlgorithms, programEpilogues, Scratch, takenEvents, view, type CompileOptions, type CpuKernel, type Memory, type Program, type Ref, type AlgorithmMode } from './program.js';

export function cpuKernel(name: string): CpuKernel | undefined {
  return kernelRegistry.get<CpuKernel>('cpu', name);
}

/** An input's or output's region of the memory. */
function region(mem: Memory, io: { readonly ref: Ref; readonly size: number }): Float32Array {
  return view(mem, io.ref).subarray(io.ref.off, io.ref.off + io.size);
}

/**
 * True when `a` is the very memory of `io` (a bound input or output array): nothing to copy.
 * Same place in the same memory, even when V8 gave a shared memory a new buffer object (see
 * ./kernels/wasm/views.ts): a different buffer object is probed through the region itself,
 * which the copy would overwrite anyway.
 */
function isRegion(a: Float32Array, mem: Memory, io: { readonly ref: Ref; readonly size: number }): boolean {
  const v = view(mem, io.ref);
  if (a.byteOffset !== v.byteOffset + 4 * io.ref.off) return false;
  return a.buffer === v.buffer || (io.size > 0 && aliases(a.buffer, v, io.ref.off));
}

/** Copies feeds into the arena before a run (a feed that is the input's own region is already there). */
export function writeInputs(program: Program, mem: Memory, feeds: Feeds): void {
  for (const input of program.inputs) {
    const feed = feeds[input.name];
    if (!isRegion(feed, mem, input)) view(mem, input.ref).set(feed, input.ref.off);
  }
}

/**
 * Copies the outputs out of the arena after a run (into the caller's buffers where given, and
 * not at all into a buffer that is the output's own region): the caller owns them.
 */
export function readOutputs(program: Program, mem: Memory, into?: Outputs): Outputs {
  const out: Outputs = {};
  for (const o of program.outputs) {
    const target = into?.[o.name];
    if (!target) out[o.name] = region(mem, o).slice();
    else {
      if (!isRegion(target, mem, o)) target.set(region(mem, o));
      out[o.name] = target;
    }
  }
  return out;
}

/**
 * Executable.ioBuffers of a program over `mem`: its input and output regions. An output that is
 * a constant (in the weights) gets an array of its own, so that nothing can write the weights.
 */
export function ioBuffers(program: Program, mem: Memory): IOBuffers {
  return {
    inputs: Object.fromEntries(program.inputs.map((i) => [i.name, region(mem, i)])),
    outputs: Object.fromEntries(program.outputs.map((o) => [o.name, o.ref.mem === 0 ? region(mem, o) : new Float32Array(o.size)])),
  };
}

/** Which GEMM the cpu backend runs conv2d / matmul on. */
export type CpuGemmPath = 'wasm-simd' | 'js';

/**
 * The GEMM path a default CpuBackend uses in this runtime: 'wasm-simd' where a
 * WebAssembly SIMD module validates and compiles, else 'js' (the TypeScript kernels).
 */
export function cpuGemmPath(): CpuGemmPath {
  return wasmGemmModule() ? 'wasm-simd' : 'js';
}

/**
 * The WebAssembly SIMD level the wasm GEMM uses here: 'relaxed' (f32x4.relaxed_madd, a fused
 * multiply-add), 'simd' (multiply, then add), or 'none' (the TypeScript kernels).
 */
export function cpuSimdLevel(): 'relaxed' | 'simd' | 'none' {
  return !wasmGemmModule() ? 'none' : wasmRelaxedSimdSupported() ? 'relaxed' : 'simd';
}

/** Cheap start-up check (validates a tiny SIMD module, compiles nothing). */
export function cpuWasmSimdSupported(): boolean {
  return wasmSimdSupported();
}

export interface CpuBackendOptions {
  /**
   * 'auto' (default): the wasm SIMD GEMM where available, else JS; 'js': always the
   * TypeScript kernels; 'wasm': the wasm GEMM or an error from compile.
   */
  readonly gemm?: 'auto' | 'js' | 'wasm';
  /**
   * Winograd F(4x4, 3x3) for eligible 3x3 convs: 'auto' (default) where it pays, 'always', or
   * 'off' (false) for the direct algorithm's rounding bit for bit. The nodes that run it are
   * reported as `Executable.algorithms` (`session.stats.algorithms`).
   */
  readonly winograd?: AlgorithmMode | boolean;
  /**
   * Strassen-Winograd for matmuls with a constant b (7 block products for 8, one or two levels):
   * 'auto' (default) where it pays (large k and n), 'always' for every eligible matmul, or 'off'
   * (false) for the direct algorithm's rounding bit for bit. Reported as `Executable.algorithms`
   * too; it holds b's leaf operands besides b (up to 3.1x b's weights).
   */
  readonly strassen?: AlgorithmMode | boolean;
  /**
   * A conv / matmul runs the bias_add and relu / relu6 after it in its epilogue where the plan
   * runs them in place (epilogues.ts: the same bits, without their passes over the output).
   * Default true; false runs every node's own kernel (a profile then times each of them).
   */
  readonly epilogues?: boolean;
  /**
   * Item runs on a batch (item-runs.ts): the members' outputs of a block of items stay within
   * this many bytes together. Default ITEM_BLOCK_BYTES (512 KiB); 0 runs every step whole.
   */
  readonly itemBlockBytes?: number;
}

/** The mode of an algorithm option (true: 'auto', false: 'off'). */
export function algorithmMode(option: AlgorithmMode | boolean | undefined): AlgorithmMode {
  return option === undefined || option === true ? 'auto' : option === false ? 'off' : option;
}

/**
 * How a backend of the cpu kernels compiles: for the wasm GEMM or the TypeScript one, Winograd
 * and Strassen as `options` say; on the TypeScript GEMM Winograd only when forced ('always':
 * tests) and Strassen never (its additions are wasm only); bias_add and activations after conv /
 * matmul steps in their epilogues.
 */
export function compileOptionsFor(wasm: boolean, options: Pick<CpuBackendOptions, 'winograd' | 'strassen' | 'epilogues'>): CompileOptions {
  const winograd = algorithmMode(options.winograd);
  const epilogues = options.epilogues ?? true;
  return wasm
    ? { gemm: 'wasm', winograd, strassen: algorithmMode(options.strassen), epilogues }
    : { winograd: winograd === 'always' ? 'always' : 'off', epilogues };
}

/** Floats of scratch the largest step of a program needs (the whole step on one thread). */
export function maxScratch(program: Program): number {
  let size = 0;
  for (const step of program.steps) size = Math.max(size, cpuKernel(step.kernel)!.scratchSize?.(step, 0, step.units) ?? 0);
  return size;
}

/**
 * TypeScript kernels on the calling thread, over one planned arena. With the wasm GEMM,
 * the arena, the weights and the kernels' scratch are views of one WebAssembly.Memory per
 * executable, sized at compile and never grown (growing would detach the views).
 */
export class CpuBackend implements Backend {
  readonly name: string = 'cpu';

  constructor(private readonly options: CpuBackendOptions = {}) {}

  /** The GEMM path executables compiled by this backend use (after compile, exact; before, expected). */
  get gemmPath(): CpuGemmPath {
    return this.options.gemm === 'js' ? 'js' : cpuGemmPath();
  }

  hasKernel(op: string): boolean {
    // Views (reshape) need no kernel: the plan makes them share their input's buffer.
    return isView(op) || kernelRegistry.has('cpu', op);
  }

  /**
   * The default plan, or, where item runs are possible (item-runs.ts), one that keeps each run's
   * values apart so that its members can run block by block. Which runs are possible depends on
   * step facts alone (kernels, units, shapes): read from a program compiled over the default plan.
   */
  async plan(graph: Graph, options: PlanOptions): Promise<ExecutionPlan> {
    const plan = planExecution(graph, options);
    const facts = compileProgram(plan, cpuKernel, this.name, compileOptionsFor(this.gemmPath === 'wasm-simd', this.options));
    const spans = runSpans(graph, itemRuns(graph, facts.nodeSteps, null, this.itemBlockBytes));
    return spans.length ? planExecution(graph, { ...options, together: spans }) : plan;
  }

  async compile(graph: Graph, plan: ExecutionPlan): Promise<Executable> {
    const choice = this.options.gemm ?? 'auto';
    const module = choice === 'js' ? null : await loadWasmGemmModule();
    if (choice === 'wasm' && !module) throw new Error("cpu backend: gemm 'wasm' requested but WebAssembly SIMD is not available");
    let reason = noWasmReason(choice);
    if (module) {
      // relu / bias_add / maxpool / depthwise in wasm SIMD on the same memory (bound on first use through
      // `Memory.gemm`); compiled here, asynchronously, so that binding never compiles.
      await Promise.all([loadWasmElementwiseModule(), loadWasmDepthwiseModule(), loadWasmWinogradModule()]);
      const program = compileProgram(plan, cpuKernel, this.name, compileOptionsFor(true, this.options));
      const sizes = [maxScratch(program), program.arenaSize, program.weightsSize];
      const wasm = createWasmArena(sizes, module);
      if (wasm) {
        const [scratch, arena, weights] = wasm.regions;
        program.fillWeights(weights);
        return new CpuExecutable(plan, program, { arena, weights, gemm: wasm.gemm }, scratch, null, this.itemBlockBytes);
      }
      reason = wasmMemoryReason(4 * (sizes[0] + sizes[1] + sizes[2]));
      if (choice === 'wasm') throw new TesseraError(`graph '${graph.name}' on backend '${this.name}': ${reason}`);
      // Too large for one wasm32 memory: the JS kernels, and the executable says why.
    }
    // Winograd on the TypeScript GEMM only when forced; the TypeScript transforms run then.
    const program = compileProgram(plan, cpuKernel, this.name, compileOptionsFor(false, this.options));
    checkArrayLimits(graph.name, this.name, program);
    const mem = allocating(graph.name, this.name, 4 * (program.arenaSize + program.weightsSize), () => ({
      arena: new Float32Array(program.arenaSize),
      weights: new Float32Array(program.weightsSize),
    }));
    program.fillWeights(mem.weights);
    return new CpuExecutable(plan, program, mem, null, reason, this.itemBlockBytes);
  }

  private get itemBlockBytes(): number {
    return this.options.itemBlockBytes ?? ITEM_BLOCK_BYTES;
  }

  async dispose(): Promise<void> {}
}

/** Executables compiled and not disposed, in this process (for leak checks). */
let live = 0;

/** How many cpu executables hold their memory right now; back to its earlier value once their sessions are disposed. */
export function liveCpuExecutables(): number {
  return live;
}

class CpuExecutable implements Executable {
  private mem: Memory | null;
  private readonly scratch = new Scratch();
  /** What a run runs, in order: each step alone or in an item run (item-runs.ts `runOrder`). */
  private readonly order: readonly ItemRun[];
  /** Each node's step's kernel, looked up once. */
  private readonly kernels: readonly (CpuKernel | null)[];
  /** The nodes that run an algorithm other than their op's usual one (Winograd convs, Strassen matmuls). */
  readonly algorithms: ReadonlyMap<string, string>;
  /** The bias_add / relu nodes a conv or matmul runs in its epilogue, by the node that runs them. */
  readonly epilogues: ReadonlyMap<string, string>;

  constructor(
    private readonly plan: ExecutionPlan,
    private readonly program: Program,
    mem: Memory,
    /** With the wasm GEMM: the scratch region of the memory (large enough for every step). */
    private readonly fixedScratch: Float32Array | null,
    /** Why it runs the JS GEMM (null on the wasm path). */
    readonly gemmReason: string | null,
    itemBlockBytes: number,
  ) {
    this.mem = mem;
    this.order = runOrder(program.nodeSteps, itemRuns(plan.graph, program.nodeSteps, plan, itemBlockBytes));
    this.kernels = program.nodeSteps.map((step) => step && cpuKernel(step.kernel)!);
    this.algorithms = programAlgorithms(program);
    this.epilogues = programEpilogues(program, plan.graph.nodes);
    live++;
  }

  /** The GEMM path this executable runs. */
  get gemmPath(): CpuGemmPath {
    return this.fixedScratch ? 'wasm-simd' : 'js';
  }

  async run(feeds: Feeds, observer?: NodeObserver, into?: Outputs): Promise<Outputs> {
    const mem = this.mem;
    if (!mem) throw new Error('cpu executable is disposed');
    writeInputs(this.program, mem, feeds);
    const nodes = this.plan.graph.nodes;
    const steps = this.program.nodeSteps;
    for (const run of this.order) {
      const head = run.members[0];
      observer?.nodeStart(nodes[head]);
      for (let n = 0; n < run.items; n += run.itemsPerBlock) this.runBlock(run, mem, n, Math.min(n + run.itemsPerBlock, run.items));
      observer?.nodeEnd(nodes[head]);
      takenEvents(observer, nodes, steps[head]);
      // A run's time is its head's; its followers' events are empty (as the workers backend's chains).
      for (let k = 1; k < run.members.length; k++) emptyEvents(observer, nodes, steps, run.members[k]);
    }
    return readOutputs(this.program, mem, into);
  }

  /** Each member's step on the units of items [from, to) of the run's (a member's units are a multiple of its items). */
  private runBlock(run: ItemRun, mem: Memory, from: number, to: number): void {
    for (const i of run.members) {
      const step = this.program.nodeSteps[i]!;
      const kernel = this.kernels[i]!;
      const start = (from * step.units) / run.items;
      const end = (to * step.units) / run.items;
      kernel.run(step, mem, start, end, this.fixedScratch ?? this.scratch.get(kernel.scratchSize?.(step, start, end) ?? 0));
    }
  }

  ioBuffers(): IOBuffers | null {
    return this.mem && ioBuffers(this.program, this.mem);
  }

  dispose(): void {
    if (this.mem) live--;
    this.mem = null;
  }
}
