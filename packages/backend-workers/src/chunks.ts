import type { Step } from '@tessera/backend-cpu/kernels';
import { alignment, MAX_REREAD_SHARE, rereadCost, smallestChunk, stepCost } from './partition.js';

/**
 * How a split step is cut into the chunks participants claim (schedule.ts), and what such a cut
 * is predicted to cost: the chain rules (chain.ts) ask the same prediction whether a follower is
 * worth chaining. Steps are priced by partition.ts's cost model.
 */

/** What each chunk of a split step runs: its head's units and the cost of the head and its chained followers. */
export interface ChunkWork {
  readonly units: number;
  /** Chunk boundaries are multiples of this (but the last). */
  readonly align: number;
  /** Cost of the whole step, followers included. */
  readonly cost: number;
  /** What every chunk pays once, whatever its size (the GEMM members' weights, re-read). */
  readonly reread: number;
}

/**
 * The work of a chain (head first) on the wasm path or not (`simd`, partition.ts `stepCost`). Its
 * chunks are whole items of an item-wise chain (`grain`), else multiples of the largest alignment
 * among the members that run the head's units: a depthwise head's chunks then fall on the GEMM
 * row tiles of the 1x1 convs chained after it.
 */
export function chainWork(members: readonly Step[], simd: boolean, grain: number | null): ChunkWork {
  const head = members[0];
  return {
    units: head.units,
    align: grain ?? Math.max(...members.filter((m) => m.units === head.units).map(alignment)),
    cost: members.reduce((sum, m) => sum + stepCost(m, simd), 0),
    reread: members.reduce((sum, m) => sum + rereadCost(m), 0),
  };
}

/**
 * Chunk boundaries of a split step (guided self-scheduling): each chunk takes half of an even
 * share of what remains, so the first chunks are large (few claims) and the last ones small
 * (participants finish within a small chunk of each other, and one that started late or was
 * preempted hands work to the others), but never smaller than 1/(LEAST_CHUNK_DIVISOR x
 * participants) of the step, nor than `atLeast` units unless that would leave fewer chunks than
 * participants. Multiples of `align` but the last boundary; the last chunk takes a tail shorter
 * than `align`.
 */
export function guidedChunks(units: number, align: number, participants: number, atLeast = 0): number[] {
  const share = Math.max(align, Math.floor(units / participants / align) * align);
  const least = Math.max(align, Math.ceil(smallestChunk(units, participants) / align) * align, Math.min(share, Math.ceil(atLeast / align) * align));
  const bounds = [0];
  for (let at = 0; at < units; ) {
    const size = Math.max(least, Math.ceil((units - at) / (2 * participants) / align) * align);
    // A tail shorter than `align` joins the last chunk (alone it would re-read weights for a row or two).
    at = units - (at + size) < align ? units : at + size;
    bounds.push(at);
  }
  return bounds;
}

/** `units` cut into `n` chunks of about the same size (multiples of `align` but the last), or null if some would be empty. */
export function evenChunks(units: number, align: number, n: number): number[] | null {
  const bounds = [0];
  for (let k = 1; k < n; k++) bounds.push(Math.round((k * units) / n / align) * align);
  bounds.push(units);
  return bounds.every((b, k) => k === 0 || b > bounds[k - 1]) ? bounds : null;
}

/**
 * The time (cost units) until the last of `participants` equally fast threads is done with a
 * step cut at `bounds`, claiming chunks in order as each becomes free, when one of them starts
 * `lag` late: each chunk costs its units' share of the work plus the re-read.
 */
export function predictedWall(bounds: readonly number[], w: ChunkWork, participants: number, lag: number): number {
  const free = new Array<number>(participants).fill(0);
  free[participants - 1] = lag;
  for (let j = 0; j + 1 < bounds.length; j++) {
    let k = 0;
    for (let t = 1; t < participants; t++) if (free[t] < free[k]) k = t;
    free[k] += (w.cost * (bounds[j + 1] - bounds[j])) / w.units + w.reread;
  }
  return Math.max(...free);
}

/**
 * Participants that start late (woken late, preempted), in the prediction: none, or one of them
 * late by these shares of an even share of the step. Cuts are judged on the mean over these
 * runs: on time, even chunks win; with somebody late, small last chunks (guided) win, and by
 * more the later it is.
 */
export const LATE_SHARES = [0, 0.05, 0.25];

/** Even cuts tried, in chunks per participant (1: one chunk each). */
const EVEN_CUTS = [1, 2, 3, 4, 6];

/**
 * Guided chunking with at most this many chunks per participant is coarse: its last chunks are
 * a large part of the step, and an even cut may end better. Finer cuts are kept as they are:
 * their small chunks also keep a chain's tiles in cache (tile.ts), which the prediction does not
 * count.
 */
export const COARSE_CHUNKS = 3;

/**
 * The chunks of a split step (`even`: an even cut): guided chunking, or, where that is coarse, an even cut into a
 * multiple of the participants if its predicted wall time (the mean of `predictedWall` over
 * LATE_SHARES) is less. Guided chunking alone left steps of few aligned chunks (ResNet-50's and
 * MobileNet's 7x7 layers: 49 rows, 5-row tiles; 20, 20 and 9 rows) ending with one thread
 * running a large chunk while the other waited; an even cut ends together.
 */
export function chunkBounds(w: ChunkWork, participants: number): { readonly bounds: number[]; readonly even: boolean } {
  const guided = guidedChunks(w.units, w.align, participants, w.reread / ((MAX_REREAD_SHARE * w.cost) / w.units));
  if (guided.length - 1 > COARSE_CHUNKS * participants) return { bounds: guided, even: false };
  const share = w.cost / participants;
  const wall = (bounds: readonly number[]) => LATE_SHARES.reduce((sum, late) => sum + predictedWall(bounds, w, participants, late * share), 0);
  let best = { bounds: guided, even: false, wall: wall(guided) };
  for (const per of EVEN_CUTS) {
    const bounds = evenChunks(w.units, w.align, per * participants);
    const t = bounds && wall(bounds);
    if (bounds && t! < best.wall) best = { bounds, even: true, wall: t! };
  }
  return { bounds: best.bounds, even: best.even };
}
