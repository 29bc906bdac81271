import { TesseraError, numel, type Graph, type Node } from '@tessera/core';
import type { ExecutionPlan, NodeObserver } from '@tessera/runtime';
import { takeEpilogues } from './epilogues.js';
import type { Gemm, GemmPath } from './kernels/gemm-call.js';

export type { GemmPath };

/**
 * A compiled graph for the cpu kernels, as plain data: steps that name a kernel and hold
 * resolved geometry and memory offsets. Plain data so that worker threads can receive the same
 * program and run the same kernels on slices of each step (backend-workers).
 */

/** Where an operand lives: memory 0 is the arena (activations), 1 the weights (constants, packed forms). */
export interface Ref {
  readonly mem: 0 | 1;
  readonly off: number;
}

/** The two memories every step reads and writes. */
export interface Memory {
  readonly arena: Float32Array;
  readonly weights: Float32Array;
  /**
   * The GEMM the steps run on, chosen once for this memory (absent: the TypeScript one, which
   * runs on any Float32Array). A WasmGemm when arena and weights (and the scratch handed to
   * kernels) are views of one WebAssembly.Memory; steps compiled with `gemm: 'wasm'` need one.
   */
  readonly gemm?: Gemm;
}

export interface CompileOptions {
  /**
   * Which GEMM the conv2d / matmul steps are compiled for: it fixes the packed layout of
   * constant weights (JS: GEMM_NR-column panels; wasm: WASM_NR-column panels). Default 'js' (what the workers backend runs over SharedArrayBuffer memory). */
  readonly gemm?: GemmPath;
  /** Whether eligible 3x3 convs run as Winograd F(4x4, 3x3). Default 'off'. */
  readonly winograd?: AlgorithmMode;
  /** Whether eligible matmuls with a constant b run as Strassen (ops/matmul.ts). Default 'off'. */
  readonly strassen?: AlgorithmMode;
  /** Conv and matmul steps take a bias_add and activation after them into their epilogue (epilogues.ts). Default false. */
  readonly epilogues?: boolean;
}

/**
 * Where an op may run a faster algorithm than its direct one (Winograd convs, Strassen matmuls):
 * 'auto' where its cost rule says it pays (ops/conv2d.ts `winogradPays`, ops/matmul.ts
 * `strassenLevelsFor`); 'always' for every eligible node (a constant, finite right-hand operand;
 * as tests force it); 'off': the direct algorithm everywhere (its rounding, bit for bit).
 */
export type AlgorithmMode = 'auto' | 'always' | 'off';

export function view(mem: Memory, ref: Ref): Float32Array {
  return ref.mem === 0 ? mem.arena : mem.weights;
}

/** One node's work: `units` independent slices (output rows or elements) a scheduler may split. */
export interface Step {
  readonly kernel: string;
  readonly node: string;
  readonly units: number;
  /** Multiply-accumulates (or element operations) per unit, for partitioning. */
  readonly costPerUnit: number;
  /** The algorithm when it is not the op's usual one (e.g. 'winograd-f4x4'), reported as `Executable.algorithms`. */
  readonly algorithm?: string;
  /** Nodes (by index) whose work this step does in its epilogue (epilogues.ts); their own steps are null. */
  readonly takes?: readonly number[];
}

/**
 * The events of the nodes a step took into its epilogue: empty, right after the step's own (whose
 * time is theirs), so that every node that is not a view gets its events.
 */
export function takenEvents(observer: NodeObserver | undefined, nodes: readonly Node[], step: Step | null): void {
  for (const t of step?.takes ?? []) {
    observer?.nodeStart(nodes[t]);
    observer?.nodeEnd(nodes[t]);
  }
}

/** The events of node i, whose time is another's (a chained follower): empty, then those of the nodes its step took. */
export function emptyEvents(observer: NodeObserver | undefined, nodes: readonly Node[], nodeSteps: readonly (Step | null)[], i: number): void {
  observer?.nodeStart(nodes[i]);
  observer?.nodeEnd(nodes[i]);
  takenEvents(observer, nodes, nodeSteps[i]);
}

/** The Step part of a node whose units are its output's elements (`costPerUnit` operations each). */
export function elementUnits(node: Node, costPerUnit: number): Step {
  return { kernel: node.op, node: node.name, units: numel(node.output.shape), costPerUnit };
}

/** At compile time: resolves operands to memory and reserves packed weights. */
export interface PrepareContext {
  readonly graph: Graph;
  operand(value: string): Ref;
  output(node: Node): Ref;
  /** Reserves `size` floats of weights memory, filled by `fill` once the memory exists. */
  reserveWeights(size: number, fill: (dst: Float32Array, off: number) => void): Ref;
  /** The GEMM the steps will run on (absent: 'js'). */
  readonly gemm?: GemmPath;
  /** Where convs may run as Winograd (absent: 'off'). */
  readonly winograd?: AlgorithmMode;
  /** Where matmuls may run as Strassen (absent: 'off'). */
  readonly strassen?: AlgorithmMode;
}

/** The cpu definition of one op: compile a node into a step, run a range of its units. */
export interface CpuKernel<S extends Step = Step> {
  readonly op: string;
  prepare(node: Node, ctx: PrepareContext): S;
  /** Floats of scratch `run` needs for units [start, end) (0 if none). */
  scratchSize?(step: S, start: number, end: number): number;
  run(step: S, mem: Memory, start: number, end: number, scratch: Float32Array): void;
}

export interface Program {
  readonly steps: readonly Step[];
  /** Steps by index of graph.nodes (null for views that run nothing). */
  readonly nodeSteps: readonly (Step | null)[];
  readonly arenaSize: number;
  readonly weightsSize: number;
  /** Writes constants and packed weights into a weights memory of weightsSize floats. */
  fillWeights(dst: Float32Array): void;
  readonly inputs: readonly { readonly name: string; readonly ref: Ref; readonly size: number }[];
  readonly outputs: readonly { readonly name: string; readonly ref: Ref; readonly size: number }[];
}

/** Node name -> algorithm of the steps that run one other than their op's usual (Winograd convs, Strassen matmuls). */
export function programAlgorithms(program: Program): ReadonlyMap<string, string> {
  return new Map(program.steps.flatMap((s) => (s.algorithm ? [[s.node, s.algorithm] as const] : [])));
}

/** Node name -> the node whose step does its work in its epilogue (epilogues.ts), for `Executable.epilogues`. */
export function programEpilogues(program: Program, nodes: readonly Node[]): ReadonlyMap<string, string> {
  return new Map(program.nodeSteps.flatMap((s) => (s?.takes ?? []).map((t) => [nodes[t].name, s!.node] as const)));
}

/** Compiles a planned graph into a program of steps, with every kernel taken from `kernels`. */
export function compileProgram(
  plan: ExecutionPlan,
  kernels: (op: string) => CpuKernel | undefined,
  backend: string,
  options: CompileOptions = {},
): Program {
  const { graph } = plan;
  const fills: { off: number; fill: (dst: Float32Array, off: number) => void }[] = [];
  let weightsSize = 0;
  const reserveWeights = (size: number, fill: (dst: Float32Array, off: number) => void): Ref => {
    const off = weightsSize;
    weightsSize += Math.ceil(size / 16) * 16;
    fills.push({ off, fill });
    return { mem: 1, off };
  };
  const constants = new Map<string, Ref>();
  for (const [name, t] of graph.constants) constants.set(name, reserveWeights(t.size, (dst, off) => dst.set(t.data, off)));
  const locate = (value: string): Ref => {
    const loc = plan.locate(value);
    return loc.kind === 'arena' ? { mem: 0, off: loc.buffer.offset } : constants.get(loc.name)!;
  };
  const ctx: PrepareContext = { graph, operand: locate, output: (node) => locate(node.name), reserveWeights, gemm: options.gemm ?? 'js', winograd: options.winograd ?? 'off', strassen: options.strassen ?? 'off' };
  const prepared = graph.nodes.map((node) => {
    if (plan.isView(node)) return null;
    const kernel = kernels(node.op);
    if (!kernel) throw new TesseraError(`backend '${backend}' has no kernel for op '${node.op}'`, { node: node.name, op: node.op });
    return kernel.prepare(node, ctx);
  });
  const nodeSteps = options.epilogues ? takeEpilogues(graph, prepared) : prepared;
  return {
    steps: nodeSteps.filter((s): s is Step => s !== null),
    nodeSteps,
    arenaSize: plan.arenaSize,
    weightsSize,
    fillWeights(dst) {
      for (const f of fills) f.fill(dst, f.off);
    },
    inputs: graph.inputs.map((v) => ({ name: v.name, ref: locate(v.name), size: numel(v.shape) })),
    outputs: Object.entries(graph.outputs).map(([name, value]) => ({ name, ref: locate(value), size: numel(graph.value(value).shape) })),
  };
}

/** Scratch buffers that grow to the largest request (one per thread). */
export class Scratch {
  private buf = new Float32Array(0);
  get(size: number): Float32Array {
    if (this.buf.length < size) this.buf = new Float32Array(size);
    return this.buf;
  }
}
