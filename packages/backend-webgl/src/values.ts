import type { Graph, Node, Shape } from '@tessera/core';
import type { ExecutionPlan } from '@tessera/runtime';
import type { Device } from './device.js';
import { layoutOf, packTexels } from './layout.js';
import type { TensorRef, TexturePool } from './texture-pool.js';

/**
 * The texture of every value while a graph compiles, and when a pooled texture is free again:
 * it is held by the live values on it (a value and its views) and goes back to the pool after
 * the plan's last step that reads the last of them. Constants are uploaded once and never
 * released; graph outputs are read after the last step, so they are never released either.
 */
export class ValueTextures {
  private readonly refs = new Map<string, TensorRef>();
  private readonly holders = new Map<number, Set<string>>();
  private readonly lastUse = new Map<string, number>();
  private readonly constants = new Map<string, TensorRef>();
  private readonly constantSlots = new Set<number>();
  private readonly graph: Graph;

  constructor(
    plan: ExecutionPlan,
    private readonly pool: TexturePool,
    private readonly device: Device,
  ) {
    this.graph = plan.graph;
    plan.steps.forEach((n, i) => {
      for (const v of n.inputs) this.lastUse.set(v, i);
    });
    for (const v of Object.values(this.graph.outputs)) this.lastUse.set(v, plan.steps.length);
  }

  get(value: string): TensorRef | undefined {
    return this.refs.get(value);
  }

  /** Places `value` on `ref`'s texture and holds that texture (a constant's needs no holding). */
  bind(value: string, ref: TensorRef): void {
    this.refs.set(value, ref);
    if (this.constantSlots.has(ref.slot)) return;
    let h = this.holders.get(ref.slot);
    if (!h) this.holders.set(ref.slot, (h = new Set()));
    h.add(value);
  }

  /** A new pooled texture for `value`, in its natural layout. */
  allocate(value: string, shape: Shape): TensorRef {
    const ref = this.pool.acquire(layoutOf(shape, this.device.maxTextureSize));
    this.bind(value, ref);
    return ref;
  }

  /** The tensor of a value: an activation's texture, or a constant uploaded in its natural layout. */
  operand(value: string): TensorRef {
    const ref = this.refs.get(value);
    if (ref) return ref;
    const c = this.graph.constants.get(value);
    if (c) return this.constant(`${value}|natural`, c.shape, () => c.data);
    throw new Error(`webgl: value '${value}' has no texture`);
  }

  /** A constant uploaded once per `key`: `data` is asked for only on the first request. */
  constant(key: string, shape: Shape, data: () => Float32Array): TensorRef {
    const cached = this.constants.get(key);
    if (cached) return cached;
    const layout = layoutOf(shape, this.device.maxTextureSize);
    const ref = this.pool.create(layout);
    this.device.upload(this.pool.textures[ref.slot], packTexels(layout, data()));
    this.constantSlots.add(ref.slot);
    this.constants.set(key, ref);
    return ref;
  }

  /** After step `step` (running `node`): lets go of the values no later step reads. */
  finishStep(node: Node, step: number): void {
    for (const v of new Set(node.inputs)) if ((this.lastUse.get(v) ?? -1) <= step) this.drop(v);
    if ((this.lastUse.get(node.name) ?? -1) <= step) this.drop(node.name);
  }

  private drop(value: string): void {
    const ref = this.refs.get(value);
    if (!ref || this.constantSlots.has(ref.slot)) return;
    const h = this.holders.get(ref.slot);
    if (!h) return;
    h.delete(value);
    if (h.size === 0) {
      this.holders.delete(ref.slot);
      this.pool.release(ref);
    }
  }
}
