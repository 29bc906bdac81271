import { TesseraError, type Graph, type Node, type Shape } from '@tessera/core';
import type { ExecutionPlan } from '@tessera/runtime';
import type { Device, Texture } from './device.js';
import { layoutOf, packTexels, viewLayout, type Layout } from './layout.js';

/** A tensor on the device: a texture slot and the layout its texels follow. */
export interface TensorRef {
  readonly slot: number;
  readonly layout: Layout;
}

/** One draw: a fragment program over every texel of `output`, reading `inputs` as samplers T0.. */
export interface DrawStep {
  readonly source: string;
  readonly inputs: readonly TensorRef[];
  /** The first output; with several (multiple render targets) all have the same size. */
  readonly output: TensorRef;
  readonly outputs: readonly TensorRef[];
  /** Framebuffer with every output attached (several outputs only), made at compile time. */
  readonly fbo: WebGLFramebuffer | null;
}

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

export interface Slot {
  texture: Texture;
}

/** A graph compiled to draws over texture slots. */
export interface WebGLProgram {
  /** Draws by index of graph.nodes (empty for views). */
  readonly nodeDraws: readonly (readonly DrawStep[])[];
  readonly slots: readonly Texture[];
  /** Framebuffers of multiple-render-target draws. */
  readonly fbos: readonly WebGLFramebuffer[];
  readonly inputs: readonly { readonly name: string; readonly ref: TensorRef }[];
  readonly outputs: readonly {
    readonly name: string;
    /** A graph output that is a constant or an input directly: no texture to read. */
    readonly ref: TensorRef | null;
    readonly value: string;
  }[];
  /** Sources of all programs acquired (released at dispose). */
  readonly sources: readonly string[];
  readonly programs: ReadonlyMap<string, globalThis.WebGLProgram>;
}

/**
 * Compiles a planned graph: uploads constants once, assigns every activation a texture slot
 * reused once the value is dead (textures are pooled by size; lifetimes follow the plan's
 * schedule), resolves reshapes to views where the packing allows, and builds each node's draws.
 */
export function compileGraph(
  plan: ExecutionPlan,
  device: Device,
  kernelOf: (op: string) => WebGLKernel | undefined,
  backend: string,
): WebGLProgram {
  const { graph } = plan;
  const maxSize = device.maxTextureSize;
  const slots: Texture[] = [];
  const free = new Map<string, number[]>();
  const refs = new Map<string, TensorRef>();
  const constantRefs = new Map<string, TensorRef>();
  const constantSlots = new Set<number>();
  const sources: string[] = [];
  const fbos: WebGLFramebuffer[] = [];
  const programs = new Map<string, globalThis.WebGLProgram>();
  try {
    // The last step reading each slot (graph outputs: past the end).
    const lastUse = new Map<string, number>();
    const rootOf = new Map<string, string>();
    const root = (v: string) => rootOf.get(v) ?? v;
    const steps = plan.steps;
    steps.forEach((n, i) => {
      for (const v of n.inputs) lastUse.set(v, i);
    });
    for (const v of Object.values(graph.outputs)) lastUse.set(v, steps.length);

    const allocate = (layout: Layout): TensorRef => {
      const key = `${layout.width}x${layout.height}`;
      const list = free.get(key);
      let slot = list?.pop();
      if (slot === undefined) {
        slot = slots.length;
        slots.push(device.createTexture(layout.width, layout.height));
      }
      return { slot, layout };
    };
    const release = (ref: TensorRef) => {
      const key = `${ref.layout.width}x${ref.layout.height}`;
      if (!free.has(key)) free.set(key, []);
      free.get(key)!.push(ref.slot);
    };
    // How many live values (a value and its views) still hold each slot.
    const holders = new Map<number, Set<string>>();
    const hold = (value: string, ref: TensorRef) => {
      if (!holders.has(ref.slot)) holders.set(ref.slot, new Set());
      holders.get(ref.slot)!.add(value);
    };
    const drop = (value: string) => {
      const ref = refs.get(value);
      if (!ref || constantSlots.has(ref.slot)) return;
      const h = holders.get(ref.slot);
      if (!h) return;
      h.delete(value);
      if (h.size === 0) {
        holders.delete(ref.slot);
        release(ref);
      }
    };

    for (const v of graph.inputs) {
      const ref = allocate(layoutOf(v.shape, maxSize));
      refs.set(v.name, ref);
      hold(v.name, ref);
    }
    const uploadConstant = (key: string, shape: Shape, data: Float32Array): TensorRef => {
      const cached = constantRefs.get(key);
      if (cached) return cached;
      const layout = layoutOf(shape, maxSize);
      const slot = slots.length;
      slots.push(device.createTexture(layout.width, layout.height));
      device.upload(slots[slot], packTexels(layout, data));
      constantSlots.add(slot);
      const ref = { slot, layout };
      constantRefs.set(key, ref);
      return ref;
    };

    const nodeDraws: DrawStep[][] = [];
    steps.forEach((node, step) => {
      const draws: DrawStep[] = [];
      nodeDraws.push(draws);
      const temps: TensorRef[] = [];
      if (plan.isView(node)) {
        const src = operandRef(node.inputs[0]);
        const view = viewLayout(src.layout, node.output.shape);
        if (view) {
          const ref = { slot: src.slot, layout: view };
          refs.set(node.name, ref);
          rootOf.set(node.name, root(node.inputs[0]));
          if (!constantSlots.has(ref.slot)) hold(node.name, ref);
          finishStep(node, step);
          return;
        }
      }
      const ctx: PrepareContext = {
        graph,
        maxTextureSize: maxSize,
        operand: operandRef,
        constant(name, form, shape, data) {
          return uploadConstant(`${name}|${form}`, shape, data());
        },
        output(n) {
          const existing = refs.get(n.name);
          if (existing) return existing;
          const ref = allocate(layoutOf(n.output.shape, maxSize));
          refs.set(n.name, ref);
          hold(n.name, ref);
          return ref;
        },
        temp(shape) {
          const ref = allocate(layoutOf(shape, maxSize));
          temps.push(ref);
          return ref;
        },
        draw(source, inputs, output) {
          if (!programs.has(source)) {
            programs.set(source, device.acquireProgram(source, inputs.length));
            sources.push(source);
          }
          const outputs = Array.isArray(output) ? (output as TensorRef[]) : [output as TensorRef];
          const fbo = outputs.length > 1 ? device.createFramebuffer(outputs.map((o) => slots[o.slot])) : null;
          if (fbo) fbos.push(fbo);
          draws.push({ source, inputs, output: outputs[0], outputs, fbo });
        },
      };
      // The output is allocated while the inputs are still held, so it never aliases them.
      ctx.output(node);
      const kernel = plan.isView(node) ? kernelOf('reshape') : kernelOf(node.op);
      if (!kernel) throw new TesseraError(`backend '${backend}' has no kernel for op '${node.op}'`, { node: node.name, op: node.op });
      kernel.prepare(node, ctx);
      for (const t of temps) release(t);
      finishStep(node, step);
    });

    function operandRef(value: string): TensorRef {
      const ref = refs.get(value);
      if (ref) return ref;
      const c = graph.constants.get(value);
      if (c) return uploadConstant(`${value}|natural`, c.shape, c.data);
      throw new Error(`webgl: value '${value}' has no texture`);
    }
    function finishStep(node: Node, step: number) {
      for (const v of new Set(node.inputs)) if ((lastUse.get(v) ?? -1) <= step) drop(v);
      if ((lastUse.get(node.name) ?? -1) <= step) drop(node.name);
    }

    return {
      nodeDraws,
      slots,
      fbos,
      sources,
      programs,
      inputs: graph.inputs.map((v) => ({ name: v.name, ref: refs.get(v.name)! })),
      outputs: Object.entries(graph.outputs).map(([name, value]) => ({
        name,
        value,
        ref: graph.constants.has(value) ? null : refs.get(value)!,
      })),
    };
  } catch (e) {
    for (const t of slots) device.deleteTexture(t);
    for (const f of fbos) device.deleteFramebuffer(f);
    for (const s of sources) device.releaseProgram(s);
    throw e;
  }
}
