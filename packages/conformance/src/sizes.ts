import fc from 'fast-check';

/*
 * Sizes drawn from classes, so that every op's cases cross the thresholds real kernels block on:
 * register tiles (4, 8, 16), cache blocks (64, 256, 512) and one past them. Uniform sizes in
 * 1..12 never reach a second k-block or column block; a bug there stays invisible.
 */

/** The multiples real kernels block on: register tiles, vector widths, cache blocks. */
export const BLOCK_EDGES = [4, 8, 16, 64, 256, 512] as const;

/** Sizes at and around the block edges up to `max`: m - 1, m, m + 1 for each multiple m (1 or 2 of each edge). */
export function edgeSizes(max: number): number[] {
  const out = new Set<number>();
  for (const e of BLOCK_EDGES) for (const m of [e, 2 * e]) for (const d of [-1, 0, 1]) if (m + d >= 1 && m + d <= max) out.add(m + d);
  return [...out].sort((a, b) => a - b);
}

/**
 * One dimension: tiny (1..`small`) most of the time, an edge size, or large (up to `max`).
 * Shrinks towards 1.
 */
export function sizeArb(max: number, small = 12): fc.Arbitrary<number> {
  const edges = edgeSizes(max);
  const tiny = fc.integer({ min: 1, max: Math.min(small, max) });
  if (max <= small) return tiny;
  return fc.oneof(
    { arbitrary: tiny, weight: 3 },
    ...(edges.length > 0 ? [{ arbitrary: fc.constantFrom(...edges), weight: 2 }] : []),
    { arbitrary: fc.integer({ min: small + 1, max }), weight: 1 },
  );
}

/**
 * Fits `dims` under a budget of `budget` for their product by shrinking every dimension except
 * `keep` (the one a case is about), largest first, to what the budget leaves. Deterministic.
 */
export function fitBudget(dims: Record<string, number>, keep: string, budget: number): Record<string, number> {
  const out = { ...dims };
  const product = () => Object.values(out).reduce((p, d) => p * d, 1);
  const others = Object.keys(out).filter((k) => k !== keep).sort((a, b) => out[b] - out[a]);
  for (const k of others) {
    if (product() <= budget) break;
    const rest = product() / out[k];
    out[k] = Math.max(1, Math.min(out[k], Math.floor(budget / rest)));
  }
  return out;
}
