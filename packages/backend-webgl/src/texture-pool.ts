import type { Device, Texture } from './device.js';
import type { Layout } from './layout.js';

/** A tensor on the device: a texture slot and the layout its texels follow. */
export interface TensorRef {
  readonly slot: number;
  readonly layout: Layout;
}

export interface PoolCounts {
  /** Textures the pool created and has not deleted. */
  readonly textures: number;
  /** Of those, the ones released and waiting to be acquired again. */
  readonly free: number;
}

/**
 * The textures of one compiled graph, by slot. A released texture is reused by the next
 * acquire of the same size, so values whose lifetimes do not overlap share memory.
 */
export class TexturePool {
  private readonly all: Texture[] = [];
  private readonly free = new Map<string, number[]>();
  private freeCount = 0;

  constructor(private readonly device: Device) {}

  /** Every texture, indexed by slot. */
  get textures(): readonly Texture[] {
    return this.all;
  }

  /** A texture of the layout's size: a released one if there is one, else a new one. */
  acquire(layout: Layout): TensorRef {
    const slot = this.free.get(sizeKey(layout))?.pop();
    if (slot === undefined) return this.create(layout);
    this.freeCount--;
    return { slot, layout };
  }

  /** A new texture, never one released before (constants keep theirs for good). */
  create(layout: Layout): TensorRef {
    this.all.push(this.device.createTexture(layout.width, layout.height));
    return { slot: this.all.length - 1, layout };
  }

  /** Returns a texture for reuse; its contents are dead. */
  release(ref: TensorRef): void {
    const key = sizeKey(ref.layout);
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(ref.slot);
    this.freeCount++;
  }

  counts(): PoolCounts {
    return { textures: this.all.length, free: this.freeCount };
  }

  /** Deletes every texture. */
  dispose(): void {
    for (const t of this.all) this.device.deleteTexture(t);
    this.all.length = 0;
    this.free.clear();
    this.freeCount = 0;
  }
}

function sizeKey(l: Layout): string {
  return `${l.width}x${l.height}`;
}
