import type { Step } from '@tessera/backend-cpu/kernels';
import { followerUnit, type Chains } from './chain.js';
import { chainWork, chunkBounds } from './chunks.js';
import { MAIN } from './partition.js';
import { BARRIER, CLAIM, RUN_WORKERS } from './protocol.js';
import { chainTiles, tiledMembers } from './tile.js';
import type { Part, Schedule } from './types.js';

/**
 * A whole run (CMD_RUN) as every participant executes it: the workers and, when it shares the
 * work, the calling thread. Each scheduled step is either split (participants claim aligned
 * chunks of its units with Atomics.add, so a thread that started late or runs on a slower core
 * simply takes fewer) or run whole by its one owner. Chained followers run right after each
 * range, on the same elements or items (chain.ts). Between steps every participant waits at a
 * barrier (`arrive`): `runSchedule` yields the barrier's number there and the driver does the
 * waiting (a worker spins and sleeps, the calling thread spins and yields to its event loop).
 */

/**
 * The schedule of a compiled program: what runs in which order, the chunks of its split steps,
 * and the tiles of their chains for `participants` threads (the workers, and the calling thread
 * when it shares the work); `simd`: the program runs on the wasm path (the cost model's prices).
 */
export function makeSchedule(steps: readonly (Step | null)[], parts: readonly (readonly Part[] | null)[], chains: Chains, participants: number, simd: boolean): Schedule {
  const order: number[] = [];
  const chunks = steps.map((step, i) => {
    const p = parts[i];
    if (!step || !p || chains.chained[i]) return null;
    order.push(i);
    if (p.length < 2) return null;
    // A chunk runs the head and its followers on its units; ranges of an item-wise chain's head are whole items (its grain).
    const members = [step, ...(chains.followers[i] ?? []).map((f) => steps[f]!)];
    return chunkBounds(chainWork(members, simd, chains.grains[i]), p.length).bounds;
  });
  const tiles = chunks.map((bounds, i) => (bounds ? chainTiles(chains.tiles[i], bounds, participants) : null));
  return { steps, parts, chains: chains.followers, order, chunks, tiles };
}

/** Runs units [start, end) of a step; `node` is its node index (what the timeline records). */
export type RunRange = (step: Step, start: number, end: number, node: number) => void;

/** The thread that runs a step's single part: MAIN parts go to worker 0 unless the calling thread takes part. */
const ownerOf = (p: Part, mainShares: boolean): number => (p.worker === MAIN && !mainShares ? 0 : p.worker);

/** A participant's tile slot (tile.ts): the calling thread 0 when it takes part, then the workers. */
const slotOf = (me: number, mainShares: boolean): number => (me === MAIN ? 0 : me + (mainShares ? 1 : 0));

/**
 * Runs this participant's share of every step of `s`: `me` is a worker index or MAIN.
 * `enter(i)` is called at the entry of each scheduled step (for errors and test faults);
 * `run` runs a range of one step. Yields k before the k-th barrier (k = 1, 2, ...).
 */
export function* runSchedule(
  s: Schedule,
  ctrl: Int32Array,
  me: number,
  mainShares: boolean,
  enter: (i: number) => void,
  run: RunRange,
): Generator<number, void, void> {
  const slot = slotOf(me, mainShares);
  for (let k = 0; k < s.order.length; k++) {
    if (k > 0) yield k;
    const i = s.order[k];
    const claim = CLAIM + (k & 1);
    enter(i);
    const range = (start: number, end: number): void => runWithFollowers(s, i, start, end, run, slot);
    const bounds = s.chunks[i];
    if (bounds) {
      // Split: chunks claimed one at a time (same bits for any split).
      for (let j = Atomics.add(ctrl, claim, 1); j < bounds.length - 1; j = Atomics.add(ctrl, claim, 1)) range(bounds[j], bounds[j + 1]);
    } else {
      for (const p of s.parts[i]!) if (ownerOf(p, mainShares) === me) range(p.start, p.end);
    }
  }
}

/**
 * Units [start, end) of step i, then the same elements of each chained follower. With a tile
 * `slot` (whole runs), a split chain's internal values are kept in that slot's tiles.
 */
export function runWithFollowers(s: Schedule, i: number, start: number, end: number, run: RunRange, slot = -1): void {
  const tiles = s.tiles[i];
  const tiled = tiles && slot >= 0 && slot < tiles.slots ? tiledMembers(s, i, tiles, start, slot) : null;
  const head = s.steps[i]!;
  run(tiled?.[0] ?? head, start, end, i);
  // Runs once per chunk and member in every run: no tuple, no spread, nothing for the GC to collect.
  const followers = s.chains[i];
  if (!followers) return;
  for (let k = 0; k < followers.length; k++) {
    const next = tiled?.[k + 1] ?? s.steps[followers[k]];
    if (!next) throw new Error(`step ${followers[k]} has nothing to run`);
    run(next, followerUnit(head, next, start), followerUnit(head, next, end), followers[k]);
  }
}

/**
 * Counts this participant in at barrier k of a whole run. Returns the BARRIER count to wait
 * for, or null when this was the last arrival: it has then reset the chunk counter of the step
 * everyone just finished (its next user is two steps later) and woken the others.
 */
export function arrive(ctrl: Int32Array, k: number): number | null {
  const target = Atomics.load(ctrl, RUN_WORKERS) * k;
  if (Atomics.add(ctrl, BARRIER, 1) + 1 < target) return target;
  Atomics.store(ctrl, CLAIM + ((k - 1) & 1), 0);
  Atomics.notify(ctrl, BARRIER);
  return null;
}
