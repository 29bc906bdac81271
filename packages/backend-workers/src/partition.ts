import { kernels, type ConvStep, type MatmulStep, type MatmulStrassenStep, type Step } from '@tessera/backend-cpu/kernels';
import type { Part } from './types.js';

/** Who runs a range of a step's units: a worker index, or MAIN for the calling thread. */
export const MAIN = -1;

export interface PartitionOptions {
  /** Workers in the pool. */
  readonly threads: number;
  /** Whether the main thread computes a share of split steps (otherwise it only waits). */
  readonly mainShare: boolean;
  /** Steps that cost less than this run inline on the main thread (cost units, see stepCost). */
  readonly inlineCost: number;
  /** No part of a split step costs less than this. */
  readonly minPartCost: number;
  /** The program runs on the wasm path: its depthwise steps run the SIMD loop (stepCost). Default false. */
  readonly simd?: boolean;
}

/**
 * Cost added per unit on top of `costPerUnit`: a unit also loads and stores its output, which
 * matters for element-wise steps (cost 1 per unit) and not for GEMM rows (cost K x N).
 */
export const UNIT_OVERHEAD = 3;

/**
 * Weight of one multiply-add of a step compiled for the wasm SIMD GEMM (`step.wasm`), in cost
 * units (one unit: about one multiply-add of the TypeScript GEMM, or one element-wise unit). The
 * SIMD GEMM does about 12 multiply-adds in the time the TypeScript one does one; calibrated with
 * `benchmarks/workers-scaling.ts --calibrate` (docs/BENCHMARKS.md). Element-wise steps
 * keep weight 1 on the wasm path although they are SIMD there too: that only moves small
 * standalone ones from inline to split, and chained ones run with their head either way.
 */
export const WASM_GEMM_WEIGHT = 1 / 12;

/**
 * Weight of the work of a depthwise_conv2d step that runs backend-cpu's WebAssembly SIMD loop
 * (kernels/depthwise.ts: multiplier 1 on a memory with the wasm GEMM), on the same scale: per
 * cost unit it takes about a sixth of a wasm GEMM step's time on the main thread
 * (`benchmarks/workers-scaling.ts --calibrate`, W7's depthwise steps; docs/BENCHMARKS.md). Priced
 * at TypeScript speed, MobileNet's depthwise steps weighed about 6x what they cost, which cut
 * the chunks of the chains they head too small for the 1x1 convs chained after them.
 */
export const SIMD_DEPTHWISE_WEIGHT = 1 / 6;

/** The weight of a step's work: wasm GEMM steps, SIMD depthwise steps (`simd`: the program runs on the wasm path), else 1. */
function workWeight(step: Step, simd: boolean): number {
  if ((step as { readonly wasm?: boolean }).wasm === true) return WASM_GEMM_WEIGHT;
  if (simd && step.kernel === 'depthwise_conv2d' && (step as { readonly multiplier?: number }).multiplier === 1) return SIMD_DEPTHWISE_WEIGHT;
  return 1;
}

/**
 * The cost model: units x (work per unit + per-unit memory overhead), in cost units (about a
 * nanosecond of one thread each); the work of a wasm GEMM step is weighted by WASM_GEMM_WEIGHT,
 * that of a depthwise step on the wasm path (`simd`) by SIMD_DEPTHWISE_WEIGHT.
 */
export function stepCost(step: Step, simd = false): number {
  return step.units * (step.costPerUnit * workWeight(step, simd) + UNIT_OVERHEAD);
}

/**
 * The smallest chunk of a split step is 1/(LEAST_CHUNK_DIVISOR x participants) of it, or more
 * where a chunk re-reads weights (MAX_REREAD_SHARE): small enough that the participants finish
 * close together, at a barrier and at the end of a run (32 was chosen over 8 and 16 by comparing
 * them: docs/BENCHMARKS.md).
 */
export const LEAST_CHUNK_DIVISOR = 32;

/** The smallest chunk of a split step's `total` (units or cost) that guided chunking cuts, before alignment and re-reads. */
export const smallestChunk = (total: number, participants: number): number => total / (LEAST_CHUNK_DIVISOR * participants);

/** No chunk of a split step should spend more than this share of its cost re-reading weights (`rereadCost`). */
export const MAX_REREAD_SHARE = 0.1;

/**
 * Cost units of re-reading one float of a GEMM's right-hand matrix: every range of a matmul or a
 * pointwise conv streams all of its packed weights, whatever its rows. Between the cost of a
 * cached square matrix (about 0.07) and that of a tall narrow one padded to whole SIMD columns
 * and out of cache (about 0.3; docs/BENCHMARKS.md).
 */
export const REREAD_COST = 0.2;

/**
 * What every range of `step` pays once, whatever its size: re-reading the packed right-hand
 * matrix of a matmul or a pointwise conv, or a Winograd conv's 36 transformed filter matrices
 * (cost units). 0 for other steps (a direct 3x3 conv re-reads its filter per im2col block of
 * its own, however its units are split).
 */
export function rereadCost(step: Step): number {
  if (step.kernel === 'matmul') {
    const { k, n } = (step as MatmulStep).g;
    return k * n * REREAD_COST;
  }
  // A Strassen panel reads all of b's packed leaf operands (Strassen runs on the wasm GEMM only).
  if (step.kernel === 'matmul_strassen') return kernels.packedLeavesSize(kernels.wasmGemmLayout, (step as MatmulStrassenStep).shape) * REREAD_COST;
  const g = (step as ConvStep).g;
  // A Winograd tile costs positions x C x K: as many floats as its transformed filters hold.
  if (step.kernel === 'conv2d_winograd') return step.costPerUnit * REREAD_COST;
  return step.kernel === 'conv2d' && kernels.isPointwise(g) ? g.inC * g.outC * REREAD_COST : 0;
}

/** Units of every part but the last are a multiple of this: whole GEMM row tiles, whole cache lines (column blocks: any). */
export function alignment(step: Step): number {
  if (step.kernel === 'matmul_columns' || step.kernel === 'matmul_strassen') return 1; // its units are whole column blocks / row panels already
  return step.costPerUnit > 64 ? ((step as { readonly wasm?: boolean }).wasm === true ? 5 : 4) : 16;
}

/** Threads that take part in a run: the workers, and the calling thread when it shares the work. */
export const participantsOf = (o: Pick<PartitionOptions, 'threads' | 'mainShare'>): number => o.threads + (o.mainShare ? 1 : 0);

/**
 * Splits a step's units into contiguous ranges of about equal cost, one per participant.
 * Cheap steps stay on the main thread: a dispatch costs tens of microseconds, which a step of a
 * few thousand multiply-adds does not earn back. A step that cannot be split (too few units)
 * also stays on the main thread, except in a one-worker pool, where every step worth
 * dispatching goes to the worker (that is what the pool is for).
 */
export function partitionStep(step: Step, o: PartitionOptions, align = alignment(step)): Part[] {
  const units = step.units;
  const cost = stepCost(step, o.simd);
  const inline: Part[] = [{ worker: MAIN, start: 0, end: units }];
  if (units === 0 || o.threads === 0 || cost < o.inlineCost) return inline;
  const participants = participantsOf(o);
  const n = Math.min(participants, Math.max(1, Math.floor(cost / o.minPartCost)), Math.ceil(units / align));
  if (n <= 1) return o.threads === 1 && !o.mainShare ? [{ worker: 0, start: 0, end: units }] : inline;
  const parts: Part[] = [];
  let start = 0;
  for (let k = 0; k < n; k++) {
    const end = k === n - 1 ? units : Math.min(units, Math.round(((k + 1) * units) / n / align) * align);
    if (end <= start) continue;
    // Workers take the first parts; the main thread (if it shares) the last.
    parts.push({ worker: o.mainShare && k === n - 1 ? MAIN : k, start, end });
    start = end;
  }
  return parts;
}
