import type { Feeds, Graph } from '@tessera/core';
import { kernelRegistry, type Backend, type Executable, type ExecutionPlan, type NodeObserver, type Outputs } from '@tessera/runtime';
import { compileProgram, Scratch, view, type CpuKernel, type Memory, type Program } from './program.js';

/** Views (reshape) need no kernel: the plan makes them share their input's buffer. */
const VIEW_OPS = ['reshape'];

export function cpuKernel(name: string): CpuKernel | undefined {
  return kernelRegistry.get<CpuKernel>('cpu', name);
}

/** Copies feeds into the arena before a run. */
export function writeInputs(program: Program, mem: Memory, feeds: Feeds): void {
  for (const input of program.inputs) view(mem, input.ref).set(feeds[input.name], input.ref.off);
}

/** Copies the outputs out of the arena after a run: the caller owns them. */
export function readOutputs(program: Program, mem: Memory): Outputs {
  const out: Outputs = {};
  for (const o of program.outputs) out[o.name] = view(mem, o.ref).slice(o.ref.off, o.ref.off + o.size);
  return out;
}

/** TypeScript kernels on the calling thread, over one planned arena. */
export class CpuBackend implements Backend {
  readonly name: string = 'cpu';

  hasKernel(op: string): boolean {
    return VIEW_OPS.includes(op) || kernelRegistry.has('cpu', op);
  }

  async compile(graph: Graph, plan: ExecutionPlan): Promise<Executable> {
    void graph;
    const program = compileProgram(plan, cpuKernel, this.name);
    const weights = new Float32Array(program.weightsSize);
    program.fillWeights(weights);
    return new CpuExecutable(plan, program, { arena: new Float32Array(program.arenaSize), weights });
  }

  async dispose(): Promise<void> {}
}

class CpuExecutable implements Executable {
  private mem: Memory | null;
  private readonly scratch = new Scratch();

  constructor(
    private readonly plan: ExecutionPlan,
    private readonly program: Program,
    mem: Memory,
  ) {
    this.mem = mem;
  }

  async run(feeds: Feeds, observer?: NodeObserver): Promise<Outputs> {
    const mem = this.mem;
    if (!mem) throw new Error('cpu executable is disposed');
    writeInputs(this.program, mem, feeds);
    const nodes = this.plan.graph.nodes;
    for (let i = 0; i < nodes.length; i++) {
      const step = this.program.nodeSteps[i];
      if (!step) continue;
      const kernel = cpuKernel(step.kernel)!;
      const scratch = this.scratch.get(kernel.scratchSize?.(step, 0, step.units) ?? 0);
      observer?.nodeStart(nodes[i]);
      kernel.run(step, mem, 0, step.units, scratch);
      observer?.nodeEnd(nodes[i]);
    }
    return readOutputs(this.program, mem);
  }

  dispose(): void {
    this.mem = null;
  }
}
