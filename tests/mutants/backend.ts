/**
 * Mutant backends for the mutation test: the cpu backend's programs and kernels, with one kernel
 * (or the step scheduler) swapped for a deliberately faulty one, each registered in its own
 * container. Nothing here touches production code: the cpu kernel table is copied, not edited.
 */
import { CPU_KERNELS, Scratch, compileProgram, programAlgorithms, readOutputs, writeInputs, type CpuKernel, type Gemm, type Memory, type Step } from '@tessera/backend-cpu/kernels';
import type { BackendVariant } from '@tessera/conformance';
import type { Feeds, Graph } from '@tessera/core';
import { createContainer, registerBackend, type Backend, type Executable, type ExecutionPlan, type NodeObserver, type Outputs } from '@tessera/runtime';

/** Runs units [start, end) of a step; the default runs them all at once, as the cpu backend does. */
export type StepRunner = (kernel: CpuKernel, step: Step, mem: Memory, scratch: Scratch) => void;

const runAll: StepRunner = (kernel, step, mem, scratch) => kernel.run(step, mem, 0, step.units, scratch.get(kernel.scratchSize?.(step, 0, step.units) ?? 0));

/** The cpu kernel table, by op (a copy: replacing an entry changes nothing in the cpu backend). */
export function cpuKernelTable(): Map<string, CpuKernel> {
  return new Map(CPU_KERNELS.map((k) => [k.op, k]));
}

export interface MutantSpec {
  /** Kernels that replace the cpu ones, by op ('reshape' turns the reshape view into a kernel). */
  readonly kernels?: Readonly<Record<string, CpuKernel>>;
  /** How each step's units are run (a faulty scheduler). */
  readonly runStep?: StepRunner;
  /** The GEMM every conv / matmul step runs on (a faulty one); default the cpu backend's TypeScript GEMM. */
  readonly gemm?: Gemm;
  /**
   * Like the workers backend, which runs small graphs inline: how steps are run when splitting
   * is forced. The backend then declares a '-split' variant (the conformance hook) that uses it.
   */
  readonly splitRunStep?: StepRunner;
}

/** The cpu backend with some kernels replaced: compileProgram + the cpu executable loop. */
export class MutantBackend implements Backend {
  private readonly table: Map<string, CpuKernel>;
  constructor(
    readonly name: string,
    private readonly spec: MutantSpec,
  ) {
    this.table = cpuKernelTable();
    for (const [op, k] of Object.entries(spec.kernels ?? {})) this.table.set(op, k);
  }

  hasKernel(op: string): boolean {
    return op === 'reshape' || this.table.has(op);
  }

  async compile(graph: Graph, plan: ExecutionPlan): Promise<Executable> {
    // A reshape kernel, if the mutant has one, runs in place on the view's shared buffer.
    const p: ExecutionPlan = this.table.has('reshape') ? { ...plan, isView: () => false, locate: plan.locate, graph: plan.graph } : plan;
    const program = compileProgram(p, (op) => this.table.get(op), this.name);
    const mem: Memory = { arena: new Float32Array(program.arenaSize), weights: new Float32Array(program.weightsSize), ...(this.spec.gemm ? { gemm: this.spec.gemm } : {}) };
    program.fillWeights(mem.weights);
    // By the step's kernel, not the node's op: a step may compile to another (matmul_columns).
    const kernels = program.nodeSteps.map((step) => step && this.table.get(step.kernel));
    const scratch = new Scratch();
    const runStep = this.spec.runStep ?? runAll;
    let disposed = false;
    return {
      // The nodes its kernels ran with another algorithm (a Strassen mutant's), judged by that algorithm's bound.
      algorithms: programAlgorithms(program),
      async run(feeds: Feeds, observer?: NodeObserver): Promise<Outputs> {
        if (disposed) throw new Error('mutant executable is disposed');
        writeInputs(program, mem, feeds);
        graph.nodes.forEach((node, i) => {
          const step = program.nodeSteps[i];
          if (!step) return;
          observer?.nodeStart(node);
          runStep(kernels[i]!, step, mem, scratch);
          observer?.nodeEnd(node);
        });
        return readOutputs(program, mem);
      },
      dispose() {
        disposed = true;
      },
    };
  }

  /** The conformance hook: a mutant with a split mode is checked with splitting forced too. */
  conformanceVariants(): readonly BackendVariant[] {
    const split = this.spec.splitRunStep;
    if (!split) return [];
    return [{ suffix: 'split', description: 'every step split', create: (name: string) => new MutantBackend(name, { ...this.spec, runStep: split, splitRunStep: undefined }) }];
  }

  async dispose(): Promise<void> {}
}

/** A fresh container with the mutant registered under its name. */
export function mutantContainer(name: string, spec: MutantSpec) {
  const container = createContainer();
  registerBackend(container, name, () => new MutantBackend(name, spec), `mutant: ${name}`);
  return container;
}
