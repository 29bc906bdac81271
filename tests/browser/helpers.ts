import { evaluate, GraphBuilder, prng, Tensor, type Feeds, type Graph, type RefTensor, type Shape } from '@tessera/core';
import { createSession, type Outputs } from '@tessera/runtime';

/** Largest float32 magnitude that does not round to Infinity (half-way to 2^128). */
const OVERFLOW = (2 - 2 ** -24) * 2 ** 127;

/** Acceptance of one element against core's reference: NaN for NaN, same infinity, else within the bound. */
export function elementOk(a: number, r: number, b: number): boolean {
  if (Number.isNaN(r)) return Number.isNaN(a);
  if (!Number.isFinite(r)) return a === r;
  // core's reference can carry a NaN bound for a finite value (relu of -Infinity: value 0, bound
  // 0 * Infinity); the only defensible answer there is the exact value.
  if (Number.isNaN(b)) return a === r;
  if (Number.isFinite(a)) return Math.abs(a - r) <= b;
  if (a === Infinity) return r + b >= OVERFLOW;
  if (a === -Infinity) return r - b <= -OVERFLOW;
  return false;
}

/** The first failing elements of an output, described; empty when all agree. */
export function mismatches(actual: Float32Array, ref: RefTensor, max = 5): string[] {
  const out: string[] = [];
  if (actual.length !== ref.value.length) return [`length ${actual.length}, expected ${ref.value.length}`];
  for (let i = 0; i < actual.length && out.length < max; i++) {
    if (!elementOk(actual[i], ref.value[i], ref.bound[i])) out.push(`[${i}] got ${actual[i]}, expected ${ref.value[i]} ± ${ref.bound[i]}`);
  }
  return out;
}

/** Deterministic data with the given share of special values (NaN, ±Inf, 0, -0, large). */
export function data(n: number, seed: number, scale = 1, specials = 0): Float32Array {
  const next = prng(seed);
  const a = new Float32Array(n);
  const sp = [NaN, Infinity, -Infinity, 0, -0, 1e30, -1e-30];
  for (let i = 0; i < n; i++) a[i] = specials > 0 && next() < specials ? sp[Math.floor(next() * sp.length)] : (next() * 2 - 1) * scale;
  return a;
}

export function tensor(shape: Shape, seed: number, scale = 1, specials = 0): Tensor {
  return new Tensor(shape, data(shape.reduce((p, d) => p * d, 1), seed, scale, specials));
}

export function randomFeeds(graph: Graph, seed: number, specials = 0): Record<string, Float32Array> {
  return Object.fromEntries(graph.inputs.map((v, i) => [v.name, data(v.shape.reduce((p, d) => p * d, 1), seed + 7 * i, 1, specials)]));
}

/** Runs a graph on a backend and compares every output with core's float64 reference. */
export async function checkAgainstReference(graph: Graph, feeds: Feeds, backend = 'webgl'): Promise<{ outputs: Outputs; problems: string[] }> {
  const session = await createSession(graph, { backend });
  try {
    const outputs = await session.run(feeds);
    const ref = evaluate(graph, feeds);
    const problems: string[] = [];
    for (const [name, r] of Object.entries(ref)) {
      for (const m of mismatches(outputs[name], r)) problems.push(`${graph.name} output '${name}': ${m}`);
    }
    return { outputs, problems };
  } finally {
    session.dispose();
  }
}

export { GraphBuilder };
