import type { Feeds, Graph } from '@tessera/core';
import { kernelRegistry, type Backend, type Executable, type ExecutionPlan, type NodeObserver, type Outputs } from '@tessera/runtime';
import { ContextLostError, Device, type DeviceOptions, type LiveCounts } from './device.js';
import { packTexels, texels, unpackTexels } from './layout.js';
import { compileGraph, type WebGLKernel, type WebGLProgram } from './program.js';
import type { PoolCounts } from './texture-pool.js';

export function webglKernel(op: string): WebGLKernel | undefined {
  return kernelRegistry.get<WebGLKernel>('webgl', op);
}

export type WebGLBackendOptions = DeviceOptions;

/**
 * WebGL2 fragment-shader programs over RGBA32F textures. Creating it outside a browser, without
 * WebGL2, or without float32 render targets fails with a clear error (no float16 fallback).
 */
export class WebGLBackend implements Backend {
  readonly name: string = 'webgl';
  readonly device: Device;
  private readonly executables = new Set<WebGLExecutable>();

  constructor(options: WebGLBackendOptions = {}) {
    this.device = new Device(options);
  }

  /** Arithmetic precision in bits of the mantissa plus one: float32 only. */
  readonly precision = 24;

  hasKernel(op: string): boolean {
    return kernelRegistry.has('webgl', op);
  }

  /** Live textures, framebuffers, programs and shaders of this backend's context. */
  liveCounts(): LiveCounts {
    return { ...this.device.live };
  }

  async compile(graph: Graph, plan: ExecutionPlan): Promise<Executable> {
    this.device.assertAlive(`compiling graph '${graph.name}'`);
    const program = compileGraph(plan, this.device, webglKernel, this.name);
    const exe = new WebGLExecutable(this.device, plan, program, () => this.executables.delete(exe));
    this.executables.add(exe);
    return exe;
  }

  async dispose(): Promise<void> {
    for (const e of [...this.executables]) e.dispose();
    this.device.dispose();
  }
}

export class WebGLExecutable implements Executable {
  private disposed = false;
  private readonly generation: number;

  constructor(
    private readonly device: Device,
    private readonly plan: ExecutionPlan,
    private readonly program: WebGLProgram,
    private readonly onDispose: () => void,
  ) {
    this.generation = device.generation;
  }

  private checkAlive(what: string): void {
    this.device.assertAlive(what);
    if (this.device.generation !== this.generation) {
      throw new ContextLostError(
        `WebGL context was lost and restored since graph '${this.plan.graph.name}' was compiled: its textures and programs are gone. Dispose the session and compile the graph again (createSession).`,
      );
    }
  }

  async run(feeds: Feeds, observer?: NodeObserver): Promise<Outputs> {
    if (this.disposed) throw new Error('webgl executable is disposed');
    const { graph } = this.plan;
    this.checkAlive(`starting a run of graph '${graph.name}'`);
    const { device, program } = this;
    const slots = program.slots;
    for (const input of program.inputs) {
      const l = input.ref.layout;
      const data = feeds[input.name];
      device.upload(slots[input.ref.slot], l.cols % 4 === 0 ? data : packTexels(l, data));
    }
    const nodes = this.plan.steps;
    for (let i = 0; i < nodes.length; i++) {
      const draws = program.nodeDraws[i];
      observer?.nodeStart(nodes[i]);
      for (const d of draws) {
        device.draw(program.programs.get(d.source)!, d.inputs.map((t) => slots[t.slot]), slots[d.output.slot], d.fbo);
      }
      // Per-node timing: wait for the node's draws (a 1-texel read) only when someone observes.
      if (observer && draws.length) device.sync(slots[draws[draws.length - 1].output.slot]);
      observer?.nodeEnd(nodes[i]);
    }
    const out: Outputs = {};
    for (const o of program.outputs) {
      if (!o.ref) {
        out[o.name] = Float32Array.from(graph.constants.get(o.value)!.data);
        continue;
      }
      const l = o.ref.layout;
      out[o.name] = unpackTexels(l, device.read(slots[o.ref.slot], texels(l)));
    }
    this.checkAlive(`running graph '${graph.name}'`);
    return out;
  }

  /** The textures this executable holds, and how many of them its steps left free (tests: no leaks). */
  textureCounts(): PoolCounts {
    return this.program.textureCounts();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.onDispose();
    // After a context restore the old generation's objects are gone (and no longer counted).
    if (this.device.generation === this.generation) this.program.dispose();
  }
}
