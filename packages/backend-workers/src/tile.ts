import type { Ref, Step } from '@tessera/backend-cpu/kernels';
import type { ChainTiles, Schedule, TileRegion } from './types.js';

/**
 * The tiles of a chain whose head is cut at `bounds`, or null where they do not fit: every
 * participant's tile inside each value, and every offset a whole number of floats.
 */
export function chainTiles(regions: readonly TileRegion[] | null, bounds: readonly number[], slots: number): ChainTiles | null {
  if (!regions) return null;
  const units = bounds[bounds.length - 1];
  const chunk = Math.max(...bounds.slice(1).map((b, j) => b - bounds[j]));
  if (slots * chunk > units) return null;
  const onWholeFloats = (u: number) => regions.every((r) => (u * r.floats) % units === 0);
  return bounds.every(onWholeFloats) && onWholeFloats(chunk) ? { regions, units, chunk, slots } : null;
}

const isRef = (v: unknown): v is Ref => typeof v === 'object' && v !== null && 'mem' in v && 'off' in v;

/**
 * `step` with its references to the tiled values moved so that units [start, ...) of the head
 * land in `slot`'s tile: offsets shift by (slot x chunk - start) x floats / units. The kernels
 * compute every address as offset + f(unit), so they run the same units on the tile unchanged.
 * References in arrays move too (concat's operands): a member left reading the value's whole
 * memory would read what some other chunk, or an earlier run, left there.
 */
function rebase(step: Step, tiles: ChainTiles, start: number, slot: number): Step {
  const move = (v: unknown): unknown => {
    if (!isRef(v) || v.mem !== 0) return v;
    const region = tiles.regions.find((r) => r.offset === v.off);
    return region ? { ...v, off: v.off + ((slot * tiles.chunk - start) * region.floats) / tiles.units } : v;
  };
  const moved: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(step)) moved[key] = Array.isArray(v) ? v.map(move) : move(v);
  return moved as unknown as Step;
}

/** Rebased chain members by schedule, then by head, chunk start and slot (each thread rebases for its own slot). */
const rebased = new WeakMap<Schedule, Map<number, Step[]>>();

/** The members of the chain headed by step `head` (head first) for its chunk at `start`, moved to `slot`'s tiles. */
export function tiledMembers(s: Schedule, head: number, tiles: ChainTiles, start: number, slot: number): readonly Step[] {
  let byChunk = rebased.get(s);
  if (!byChunk) rebased.set(s, (byChunk = new Map()));
  const id = (head * (tiles.units + 1) + start) * tiles.slots + slot;
  let steps = byChunk.get(id);
  if (!steps) {
    const members = [head, ...(s.chains[head] ?? [])].map((i) => s.steps[i]!);
    byChunk.set(id, (steps = members.map((m) => rebase(m, tiles, start, slot))));
  }
  return steps;
}
