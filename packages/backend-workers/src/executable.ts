import { cpuKernel, emptyEvents, ioBuffers, programAlgorithms, programEpilogues, readOutputs, Scratch, takenEvents, writeInputs, type Memory, type Program, type Step } from '@tessera/backend-cpu/kernels';
import type { Feeds, Node } from '@tessera/core';
import type { Executable, IOBuffers, NodeObserver, Outputs } from '@tessera/runtime';
import { MAIN } from './partition.js';
import type { MainShare, StepInfo } from './dispatch.js';
import type { WorkerPool } from './pool.js';
import { runWithFollowers } from './schedule.js';
import type { Schedule } from './types.js';

/** Which GEMM a workers executable runs conv2d / matmul on (the same as the cpu backend's names). */
export type WorkersGemmPath = 'wasm-simd' | 'js';

/** A graph compiled on the workers backend: its program is loaded in every worker. */
export class WorkersExecutable implements Executable {
  private program: Program | null;
  private readonly scratch = new Scratch();
  /** True when no step is worth a worker: runs never touch the pool. */
  private readonly inlineOnly: boolean;
  /** The calling thread's side of a whole run, when it takes part (made once: it only depends on the schedule). */
  private readonly main: MainShare | undefined;
  /** The nodes that run an algorithm other than their op's usual one (Winograd convs, Strassen matmuls). */
  readonly algorithms: ReadonlyMap<string, string>;
  /** The bias_add / relu nodes a conv or matmul runs in its epilogue, by the node that runs them. */
  readonly epilogues: ReadonlyMap<string, string>;

  constructor(
    private readonly nodes: readonly Node[],
    program: Program,
    private readonly mem: Memory,
    /** wasm path: the main thread's scratch region of the shared memory (large enough for every step); js: null. */
    private readonly fixedScratch: Float32Array | null,
    /** What runs in which order, split how, chained how (schedule.ts, chain.ts). */
    private readonly schedule: Schedule,
    /** The calling thread takes a share of each run. */
    mainShare: boolean,
    private readonly id: number,
    private readonly pool: WorkerPool,
    callerFaults: Set<string>,
    /** Hands the executable's shared memory back to the backend once no thread uses it (none: unshared memory). */
    private readonly release: (() => void) | null,
    /** Why it runs the JS GEMM (null on the wasm path). */
    readonly gemmReason: string | null,
  ) {
    this.program = program;
    this.algorithms = programAlgorithms(program);
    this.epilogues = programEpilogues(program, nodes);
    this.inlineOnly = schedule.parts.every((p) => !p || p.every((q) => q.worker === MAIN));
    this.main = mainShare
      ? {
          schedule,
          run: (step, start, end) => this.runKernel(step, start, end),
          enter: (i) => {
            if (callerFaults.delete(nodes[i].name)) throw new Error(`injected fault on node '${nodes[i].name}'`);
          },
        }
      : undefined;
  }

  /** The GEMM path this executable runs. */
  get gemmPath(): WorkersGemmPath {
    return this.mem.gemm ? 'wasm-simd' : 'js';
  }

  /** Floats of the arena it runs over: its plan's (the session reports that plan's). */
  get arenaSize(): number {
    return this.mem.arena.length;
  }

  async run(feeds: Feeds, observer?: NodeObserver, into?: Outputs): Promise<Outputs> {
    const program = this.program;
    if (!program) throw new Error('workers executable is disposed');
    if (this.inlineOnly) {
      writeInputs(program, this.mem, feeds);
      for (let i = 0; i < this.nodes.length; i++) {
        const step = program.nodeSteps[i];
        if (!step) continue;
        observer?.nodeStart(this.nodes[i]);
        this.runKernel(step, 0, step.units);
        observer?.nodeEnd(this.nodes[i]);
        takenEvents(observer, this.nodes, step);
      }
      return readOutputs(program, this.mem, into);
    }
    this.pool.dispatch.nudge();
    if (!observer) {
      // Whole runs: one dispatch; the calling thread takes its share of each step, or sleeps.
      return this.pool.exclusive(async () => {
        writeInputs(program, this.mem, feeds);
        await this.pool.dispatch.runProgram(this.id, this.schedule.order.length, (i) => ({ program: this.id, step: i, node: this.nodes[i].name, op: this.nodes[i].op }), this.main);
        return readOutputs(program, this.mem, into);
      });
    }
    // With an observer (profiling): step by step, so that every node is timed on its own.
    return this.pool.exclusive(async () => {
      writeInputs(program, this.mem, feeds);
      for (const i of this.schedule.order) {
        const step = program.nodeSteps[i]!;
        const parts = this.schedule.parts[i]!;
        const node = this.nodes[i];
        const followers = this.schedule.chains[i];
        observer?.nodeStart(node);
        if (parts.length === 1 && parts[0].worker === MAIN && !followers) this.runKernel(step, 0, step.units);
        else {
          const info: StepInfo = { program: this.id, step: i, node: node.name, op: node.op };
          await this.pool.dispatch.runStep(info, parts, (start, end) => runWithFollowers(this.schedule, i, start, end, (s, a, b) => this.runKernel(s, a, b)));
        }
        observer?.nodeEnd(node);
        takenEvents(observer, this.nodes, step);
        // A chain runs as one dispatch: its time is the producer's; the followers' events are empty.
        for (const f of followers ?? []) emptyEvents(observer, this.nodes, program.nodeSteps, f);
      }
      return readOutputs(program, this.mem, into);
    });
  }

  ioBuffers(): IOBuffers | null {
    return this.program && ioBuffers(this.program, this.mem);
  }

  private runKernel(step: Step, start: number, end: number): void {
    const kernel = cpuKernel(step.kernel)!;
    kernel.run(step, this.mem, start, end, this.fixedScratch ?? this.scratch.get(kernel.scratchSize?.(step, start, end) ?? 0));
  }

  dispose(): void {
    if (!this.program) return;
    this.program = null;
    if (this.inlineOnly) this.release?.();
    // After the unload: a run in flight holds the pool until it ends, and no worker keeps the program.
    else if (!this.pool.isDisposed) void this.pool.unload(this.id).then(() => this.release?.(), () => undefined);
  }
}
