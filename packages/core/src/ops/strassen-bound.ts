/**
 * Strassen-Winograd matrix multiplication: the scheme a backend may run a matmul with (fewer
 * multiplications), and the float32 error bound of such a matmul (docs/SEMANTICS.md "Strassen
 * matmul"). The reference stays the direct float64 product; a backend that reports a node as
 * `strassen-<levels>` (`Executable.algorithms`) is judged by the direct bound plus
 * `strassenAllowance`.
 */
import { matmulGeometry, type MatmulAttrs, type MatmulGeometry } from './matmul.js';
import { BOUND_C, LIKELY_LAMBDA, TINY32, U32, type AlgorithmAllowance } from './numerics.js';
import type { RefTensor } from './spec.js';

/**
 * One level on 2 x 2 blocks (Winograd's variant: 7 products, 15 additions). The operands of
 * product p are signed sums of the blocks of A (`a[p]`) and of B (`b[p]`), coefficients over
 * blocks 11, 12, 21, 22; output block q is the signed sum `c[q]` of the products. Backends form
 * the sums with shared partial sums, at most `ROUNDINGS` roundings deep:
 *   S1 = A21 + A22, S2 = S1 - A11, S3 = A11 - A21, S4 = A12 - S2 (likewise T1..T4 of B),
 *   C11 = P1 + P2, C12 = ((P1 + P6) + P5) + P3, C21 = ((P1 + P6) + P7) - P4, C22 = ((P1 + P6) + P7) + P5.
 */
export const STRASSEN_PRODUCTS: {
  readonly a: readonly (readonly number[])[];
  readonly b: readonly (readonly number[])[];
  readonly c: readonly (readonly number[])[];
} = {
  // P1 = A11 B11, P2 = A12 B21, P3 = S4 B22, P4 = A22 T4, P5 = S1 T1, P6 = S2 T2, P7 = S3 T3
  a: [[1, 0, 0, 0], [0, 1, 0, 0], [1, 1, -1, -1], [0, 0, 0, 1], [0, 0, 1, 1], [-1, 0, 1, 1], [1, 0, -1, 0]],
  b: [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, -1, -1, 1], [-1, 1, 0, 0], [1, -1, 0, 1], [0, -1, 0, 1]],
  // C11, C12, C21, C22 over P1..P7
  c: [[1, 1, 0, 0, 0, 0, 0], [1, 0, 1, 0, 1, 1, 0], [1, 0, 0, -1, 0, 1, 1], [1, 0, 0, 0, 1, 1, 1]],
};

/** Roundings per level in forming an operand sum, and in forming an output block from the products. */
const ROUNDINGS = 3;

/** Rows of a matmul (all batches) that one Strassen call covers: backends run the rows in panels of this many, so a split by panels gives the same bits. */
export const STRASSEN_PANEL_ROWS = 512;

/** Levels of the algorithm name `strassen-<levels>`, or 0 for another name. */
export function strassenLevels(algorithm: string): number {
  const m = /^strassen-([1-9])$/.exec(algorithm);
  return m ? Number(m[1]) : 0;
}

/** The name a backend reports for a matmul run with `levels` levels. */
export const strassenAlgorithm = (levels: number): string => `strassen-${levels}`;

/**
 * Whether a matmul can run with `levels` levels: b shared by the batches, a not transposed (the
 * rows of every batch are one matrix), and k and n halved `levels` times into whole SIMD vectors
 * (multiples of 4). Rows need not divide: the rows of a panel past a multiple of 2^levels run directly.
 */
export function strassenEligible(g: MatmulGeometry, levels: number): boolean {
  const unit = 4 * 2 ** levels;
  return levels >= 1 && g.sharedB && !g.transposeA && g.k % unit === 0 && g.n % unit === 0;
}

/** Rows of the panel starting at row `start` of `rows` that run Strassen (the rest directly): a multiple of 2^levels. */
export function strassenRows(rows: number, start: number, levels: number): number {
  const r = Math.min(STRASSEN_PANEL_ROWS, rows - start);
  return r - (r % 2 ** levels);
}

/**
 * The allowance of a matmul run with `levels` levels of Strassen-Winograd over panels of
 * STRASSEN_PANEL_ROWS rows, per output element:
 *
 *     bound  = (1 + 8u) c (k' + 2 + 3 ROUNDINGS L) u W + tiny,   likely: lambda sqrt(...) in place of c (...)
 *     W      = the same recursion on |a| + bound(a) and |b| + bound(b) with every coefficient +1
 *     tiny   = 8 (k' + 2 + 3 ROUNDINGS L) 7^L TINY (1 + max W) + 8 TINY
 *
 * with k' = k / 2^L the leaf products' depth and c = BOUND_C: every operand sum (at most
 * ROUNDINGS roundings a level, for a and for b) and every output sum (ROUNDINGS a level) errs by
 * at most u times its absolute terms, and the leaf products by the direct bound of k' terms, all
 * over the absolute structure W (W covers the direct sum |a| |b| and the cross terms the sums
 * bring). Rows a panel runs directly get none; nor does a panel whose operands are not finite
 * (the backend runs it directly: the direct non-finite pattern is the definition).
 */
export function strassenAllowance(a: RefTensor, b: RefTensor, attrs: MatmulAttrs, levels: number): AlgorithmAllowance {
  const g = matmulGeometry(a.shape, b.shape, attrs);
  if (!strassenEligible(g, levels)) throw new Error(`strassenAllowance: the matmul is not eligible for ${levels} level(s)`);
  const { k, n } = g;
  const rows = g.batch * g.m;
  const absB = new Float64Array(k * n);
  for (let p = 0; p < k; p++) {
    for (let j = 0; j < n; j++) {
      const i = g.transposeB ? j * k + p : p * n + j;
      absB[p * n + j] = Math.abs(b.value[i]) + b.bound[i];
    }
  }
  const depth = k / 2 ** levels + 2 + 3 * ROUNDINGS * levels;
  const rel = (1 + 8 * U32) * U32;
  const bound = new Float64Array(rows * n);
  const likely = new Float64Array(rows * n);
  for (let start = 0; start < rows; start += STRASSEN_PANEL_ROWS) {
    const r = strassenRows(rows, start, levels);
    if (r === 0) continue;
    const absA = new Float64Array(r * k);
    for (let i = 0; i < r * k; i++) absA[i] = Math.abs(a.value[start * k + i]) + a.bound[start * k + i];
    const W = absStrassen(absA, absB, r, k, n, levels);
    let maxW = 0;
    for (const w of W) maxW = Math.max(maxW, w);
    if (!Number.isFinite(maxW)) continue;
    const tiny = 8 * depth * 7 ** levels * TINY32 * (1 + maxW) + 8 * TINY32;
    for (let i = 0; i < r * n; i++) {
      bound[start * n + i] = rel * BOUND_C * depth * W[i] + tiny;
      likely[start * n + i] = rel * Math.min(LIKELY_LAMBDA * Math.sqrt(depth), BOUND_C * depth) * W[i] + tiny;
    }
  }
  return { bound, likely };
}

/** The r x n product of non-negative x (r x k) and y (k x n) by `levels` levels of the scheme with every coefficient taken as +1. */
function absStrassen(x: Float64Array, y: Float64Array, r: number, k: number, n: number, levels: number): Float64Array {
  if (levels === 0) {
    const out = new Float64Array(r * n);
    for (let i = 0; i < r; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) out[i * n + j] += x[i * k + p] * y[p * n + j];
    return out;
  }
  const [hr, hk, hn] = [r / 2, k / 2, n / 2];
  const xb = blocks(x, hr, hk);
  const yb = blocks(y, hk, hn);
  const products = STRASSEN_PRODUCTS.a.map((ca, p) => absStrassen(absSum(xb, ca), absSum(yb, STRASSEN_PRODUCTS.b[p]), hr, hk, hn, levels - 1));
  const out = new Float64Array(r * n);
  STRASSEN_PRODUCTS.c.forEach((cc, q) => {
    const sum = absSum(products, cc);
    const [bi, bj] = [q >> 1, q & 1];
    for (let i = 0; i < hr; i++) out.set(sum.subarray(i * hn, (i + 1) * hn), (bi * hr + i) * n + bj * hn);
  });
  return out;
}

/** The four blocks 11, 12, 21, 22 of a (2 rows) x (2 cols) matrix, each rows x cols. */
function blocks(m: Float64Array, rows: number, cols: number): Float64Array[] {
  return [0, 1, 2, 3].map((q) => {
    const out = new Float64Array(rows * cols);
    const [bi, bj] = [q >> 1, q & 1];
    for (let i = 0; i < rows; i++) out.set(m.subarray((bi * rows + i) * 2 * cols + bj * cols, (bi * rows + i) * 2 * cols + (bj + 1) * cols), i * cols);
    return out;
  });
}

/** The sum of the terms whose coefficient is not zero. */
function absSum(terms: readonly Float64Array[], coefficients: readonly number[]): Float64Array {
  const out = new Float64Array(terms[0].length);
  coefficients.forEach((c, t) => {
    if (c !== 0) for (let i = 0; i < out.length; i++) out[i] += terms[t][i];
  });
  return out;
}
