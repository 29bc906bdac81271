/**
 * The plain data a compiled program's schedule is made of, as the main thread makes it and the
 * workers receive it. It imports nothing else of the package, so the modules that make and run
 * a schedule (partition, chain, tile, schedule, protocol) depend on it and not on each other.
 */
import type { Step } from '@tessera/backend-cpu/kernels';

/** A range of a step's units and who runs it: a worker index, or MAIN (partition.ts) for the calling thread. */
export interface Part {
  readonly worker: number;
  readonly start: number;
  readonly end: number;
}

/** Arena memory of a value a chain keeps per participant: its first float, and the value's floats. */
export interface TileRegion {
  readonly offset: number;
  readonly floats: number;
}

/**
 * Where a chain keeps its internal values per participant (chain.ts, "Tiles"): participant
 * `slot` runs every chunk of the head in the same tile, `chunk` units wide, at the start of each
 * value's memory: [slot x chunk, (slot + 1) x chunk) of the value, in the head's units.
 */
export interface ChainTiles {
  readonly regions: readonly TileRegion[];
  /** The head's units. */
  readonly units: number;
  /** Units of the largest chunk: the width of a tile. */
  readonly chunk: number;
  /** Tiles per value: the participants of a run. */
  readonly slots: number;
}

/** What a whole run executes, made once at compile (schedule.ts `makeSchedule`) and run alike by every participant. */
export interface Schedule {
  readonly steps: readonly (Step | null)[];
  /** By node index: the parts of each step (null for views). */
  readonly parts: readonly (readonly Part[] | null)[];
  /** By node index: the steps chained after that step (chain.ts). */
  readonly chains: readonly (readonly number[] | null)[];
  /** Node indices of the steps a run dispatches, in order (not views, not chained followers). */
  readonly order: readonly number[];
  /** By node index of a split step: its chunk boundaries (`guidedChunks`); null for the others. */
  readonly chunks: readonly (readonly number[] | null)[];
  /** By node index of a split chain's head: where each participant keeps the chain's internal values (tile.ts); null: nowhere. */
  readonly tiles: readonly (ChainTiles | null)[];
}
