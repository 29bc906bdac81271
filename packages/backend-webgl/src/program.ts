import { TesseraError, type Graph, type Node, type Shape } from '@tessera/core';
import type { ExecutionPlan } from '@tessera/runtime';
import type { Device, Texture } from './device.js';
import { DrawResources, type DrawStep } from './draws.js';
import { layoutOf, viewLayout } from './layout.js';
import { TexturePool, type PoolCounts, type TensorRef } from './texture-pool.js';
import { ValueTextures } from './values.js';

export type { DrawStep } from './draws.js';
export type { TensorRef } from './texture-pool.js';

/** Compile-time services for kernels: operands, outputs, constant uploads, temporaries, draws. */
export interface PrepareContext {
  readonly graph: Graph;
  readonly maxTextureSize: number;
  /** The tensor of a value (an activation, or a constant uploaded in its natural layout). */
  operand(value: string): TensorRef;
  /** A constant uploaded once in a form a kernel chooses (`form` names it for caching). */
  constant(name: string, form: string, shape: Shape, data: () => Float32Array): TensorRef;
  /** The node's output tensor. */
  output(node: Node): TensorRef;
  /** A texture that lives only during this node's draws. */
  temp(shape: Shape): TensorRef;
  draw(source: string, inputs: readonly TensorRef[], output: TensorRef | readonly TensorRef[]): void;
}

/** The webgl definition of one op: turns a node into draws at compile time. */
export interface WebGLKernel {
  readonly op: string;
  prepare(node: Node, ctx: PrepareContext): void;
}

/** A graph compiled to draws over texture slots. */
export interface WebGLProgram {
  /** Draws by index of the plan's steps (empty for views). */
  readonly nodeDraws: readonly (readonly DrawStep[])[];
  readonly slots: readonly Texture[];
  readonly inputs: readonly { readonly name: string; readonly ref: TensorRef }[];
  readonly outputs: readonly {
    readonly name: string;
    /** A graph output that is a constant or an input directly: no texture to read. */
    readonly ref: TensorRef | null;
    readonly value: string;
  }[];
  readonly programs: ReadonlyMap<string, globalThis.WebGLProgram>;
  /** The textures of the compile: all of them, and how many are free (none leaked by the steps). */
  textureCounts(): PoolCounts;
  /** Deletes the textures and framebuffers and releases the programs. */
  dispose(): void;
}

/** What compiling one step needs. */
interface Compiler {
  readonly plan: ExecutionPlan;
  readonly device: Device;
  readonly pool: TexturePool;
  readonly values: ValueTextures;
  readonly draws: DrawResources;
  kernelOf(op: string): WebGLKernel | undefined;
  readonly backend: string;
}

/**
 * Compiles a planned graph: uploads constants once, gives every activation a pooled texture
 * that is reused once the value is dead (lifetimes follow the plan's schedule), resolves views
 * (reshape) to the same texture where the packing allows, and builds each node's draws.
 */
export function compileGraph(
  plan: ExecutionPlan,
  device: Device,
  kernelOf: (op: string) => WebGLKernel | undefined,
  backend: string,
): WebGLProgram {
  const pool = new TexturePool(device);
  const draws = new DrawResources(device, pool);
  const dispose = () => {
    pool.dispose();
    draws.dispose();
  };
  try {
    const values = new ValueTextures(plan, pool, device);
    const compiler: Compiler = { plan, device, pool, values, draws, kernelOf, backend };
    for (const v of plan.graph.inputs) values.allocate(v.name, v.shape);
    const nodeDraws = plan.steps.map((node, step) => {
      const stepDraws = compileStep(compiler, node);
      values.finishStep(node, step);
      return stepDraws;
    });
    return {
      nodeDraws,
      slots: pool.textures,
      programs: draws.programs,
      ...ioRefs(plan.graph, values),
      textureCounts: () => pool.counts(),
      dispose,
    };
  } catch (e) {
    dispose();
    throw e;
  }
}

/** The draws of one step; a view whose packing is unchanged shares its input's texture and draws nothing. */
function compileStep(c: Compiler, node: Node): DrawStep[] {
  if (c.plan.isView(node)) {
    const src = c.values.operand(node.inputs[0]);
    const view = viewLayout(src.layout, node.output.shape);
    if (view) {
      c.values.bind(node.name, { slot: src.slot, layout: view });
      return [];
    }
  }
  const kernel = c.kernelOf(node.op);
  if (!kernel) throw new TesseraError(`backend '${c.backend}' has no kernel for op '${node.op}'`, { node: node.name, op: node.op });
  const draws: DrawStep[] = [];
  const temps: TensorRef[] = [];
  const ctx = prepareContext(c, draws, temps);
  // The output is allocated while the inputs are still held, so it never aliases them.
  ctx.output(node);
  kernel.prepare(node, ctx);
  for (const t of temps) c.pool.release(t);
  return draws;
}

/** The services a kernel's prepare gets; draws and temporaries are collected into the arrays given. */
function prepareContext(c: Compiler, draws: DrawStep[], temps: TensorRef[]): PrepareContext {
  const maxTextureSize = c.device.maxTextureSize;
  return {
    graph: c.plan.graph,
    maxTextureSize,
    operand: (value) => c.values.operand(value),
    constant: (name, form, shape, data) => c.values.constant(`${name}|${form}`, shape, data),
    output: (n) => c.values.get(n.name) ?? c.values.allocate(n.name, n.output.shape),
    temp(shape) {
      const ref = c.pool.acquire(layoutOf(shape, maxTextureSize));
      temps.push(ref);
      return ref;
    },
    draw(source, inputs, output) {
      draws.push(c.draws.draw(source, inputs, output));
    },
  };
}

function ioRefs(graph: Graph, values: ValueTextures): Pick<WebGLProgram, 'inputs' | 'outputs'> {
  return {
    inputs: graph.inputs.map((v) => ({ name: v.name, ref: values.get(v.name)! })),
    outputs: Object.entries(graph.outputs).map(([name, value]) => ({
      name,
      value,
      ref: graph.constants.has(value) ? null : values.get(value)!,
    })),
  };
}
