/**
 * Helpers for checking Tessera's op semantics against TensorFlow.js (tfjs-core + the CPU
 * backend): seeded float32 data, Tessera's padding in tfjs' form, one-node Tessera graphs
 * evaluated by the float64 reference, and a per-element comparison against its error bounds.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { GraphBuilder, evaluate, type OpName, type RefTensor, type Shape } from '@tessera/core';

/** The fast-check seed of every property: `TESSERA_SEED` if set, else a fixed constant. */
export function propertySeed(fallback: number): number {
  const raw = process.env.TESSERA_SEED;
  if (raw === undefined || raw.trim() === '') return fallback;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`TESSERA_SEED must be an integer, got '${raw}'`);
  return seed | 0;
}

let ready: Promise<void> | undefined;

/** Selects tfjs' CPU backend (float32, plain JavaScript) once per process. */
export function useTfjsCpu(): Promise<void> {
  ready ??= (async () => {
    const ok = await tf.setBackend('cpu');
    if (!ok || tf.getBackend() !== 'cpu') throw new Error('tfjs: the cpu backend did not start');
  })();
  return ready;
}

/** How the elements of a drawn tensor are spread: a PRNG seed, a binary scale and a spread of exponents. */
export interface DataSpec {
  readonly seed: number;
  /** Values are about 2^scale ... */
  readonly scale: number;
  /** ... times 2^e with e uniform in [-spread, spread], so one tensor mixes magnitudes. */
  readonly spread: number;
  /** Fraction of exact zeros. */
  readonly zeros: number;
}

/**
 * `n` float32 values drawn from `spec` (xorshift32 stream; signs, mantissas and exponents
 * all random). Drawing a small spec rather than every element keeps 200 runs fast and still
 * replays exactly from the fast-check seed.
 */
export function floatData(n: number, spec: DataSpec): Float32Array {
  let s = (spec.seed ^ 0x9e3779b9) >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (next() < spec.zeros) continue;
    const sign = next() < 0.5 ? -1 : 1;
    const e = spec.scale + Math.floor(next() * (2 * spec.spread + 1)) - spec.spread;
    out[i] = sign * (1 + next()) * 2 ** e;
  }
  return out;
}

export function numelOf(shape: Shape): number {
  return shape.reduce((p, d) => p * d, 1);
}

export type TesseraPadding = 'SAME' | 'VALID' | [[number, number], [number, number]];

/** Tessera's padding in tfjs' form; explicit pads become tfjs' 4-D NHWC ExplicitPadding. */
export function tfPadding(p: TesseraPadding): 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
  if (p === 'SAME') return 'same';
  if (p === 'VALID') return 'valid';
  return [[0, 0], p[0], p[1], [0, 0]];
}

export interface OneNode {
  /** The shape GraphBuilder inferred when the node was added. */
  readonly inferred: Shape;
  /** The float64 reference output with its per-element float32 bound. */
  readonly ref: RefTensor;
}

/**
 * Builds a graph with one node of `op` whose operands are graph inputs, and evaluates it with
 * the float64 reference. Throws whatever the builder throws for bad shapes or attributes.
 */
export function tesseraOneNode(
  op: OpName,
  operands: readonly { shape: Shape; data: Float32Array }[],
  attrs: Record<string, unknown>,
): OneNode {
  const g = new GraphBuilder(`one-${op}`);
  const ins = operands.map((o, i) => g.input(`in${i}`, o.shape));
  // GraphBuilder.op is typed per op; the attributes here come from the test's own draws.
  const y = (g.op as (op: OpName, i: typeof ins, a: Record<string, unknown>) => { name: string; shape: Shape })(op, ins, { ...attrs, name: 'y' });
  const graph = g.build({ y });
  const feeds = Object.fromEntries(operands.map((o, i) => [`in${i}`, o.data]));
  return { inferred: y.shape, ref: evaluate(graph, feeds).y };
}

/** Only the builder part: the inferred shape, or the thrown error. */
export function tesseraShape(op: OpName, shapes: readonly Shape[], attrs: Record<string, unknown>): Shape {
  const g = new GraphBuilder(`shape-${op}`);
  const ins = shapes.map((s, i) => g.input(`in${i}`, s));
  const y = (g.op as (op: OpName, i: typeof ins, a: Record<string, unknown>) => { shape: Shape })(op, ins, { ...attrs, name: 'y' });
  return y.shape;
}

/** Runs a tfjs computation and reads its result back (shape + float32 data), freeing the tensors. */
export function runTf(fn: () => tf.Tensor): { shape: number[]; data: Float32Array } {
  return tf.tidy(() => {
    const t = fn();
    const data = t.dataSync();
    if (!(data instanceof Float32Array)) throw new Error(`tfjs returned dtype ${t.dtype}, expected float32`);
    return { shape: [...t.shape], data: Float32Array.from(data) };
  });
}

/**
 * How tfjs rejects an op: it throws, or (for windows larger than the input, where TensorFlow's
 * C++ kernels fail with "Computed output size would be negative") it silently returns a tensor
 * with a zero or negative dimension. Returns a description, or undefined if tfjs accepted it.
 */
export function tfRejection(fn: () => tf.Tensor): string | undefined {
  try {
    const shape = tf.tidy(() => [...fn().shape]);
    return shape.some((d) => !(d >= 1)) ? `non-positive output shape [${shape.join(',')}]` : undefined;
  } catch (e) {
    return `threw: ${(e as Error).message}`;
  }
}

/**
 * Asserts |actual[i] - ref.value[i]| <= factor * ref.bound[i] for every element, and that
 * non-finite results agree exactly (NaN with NaN, +-Inf with the same Inf). Reports the worst
 * element with its value, bound and index.
 */
export function expectWithinBound(what: string, actual: ArrayLike<number>, ref: RefTensor, factor = 1): void {
  const n = ref.value.length;
  if (actual.length !== n) throw new Error(`${what}: ${actual.length} values, the reference has ${n}`);
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < n; i++) {
    const a = actual[i];
    const r = ref.value[i];
    if (!Number.isFinite(r) || !Number.isFinite(a)) {
      if (Object.is(a, r) || (Number.isNaN(a) && Number.isNaN(r)) || a === r) continue;
      throw new Error(`${what}: element ${i} is ${a}, the reference is ${r}`);
    }
    const err = Math.abs(a - r);
    const allowed = factor * ref.bound[i];
    if (err > allowed) {
      const ratio = allowed > 0 ? err / allowed : Infinity;
      if (ratio > worstRatio) {
        worstRatio = ratio;
        worst = i;
      }
    }
  }
  if (worst >= 0) {
    const a = actual[worst];
    const r = ref.value[worst];
    throw new Error(
      `${what}: element ${worst} of [${ref.shape.join(',')}] is ${a}, the reference is ${r}: ` +
        `|diff| = ${Math.abs(a - r)} exceeds ${factor} x bound ${ref.bound[worst]} (${worstRatio.toFixed(2)}x over)`,
    );
  }
}

export { tf };
