import { Tensor, U32 } from '@tessera/core';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';

/*
 * Tucker-2 decomposition of an HWIO filter W [K1, K2, C, S] along its channel modes by truncated
 * HOSVD: U3 (C x r1) and U4 (S x r2) are the leading eigenvectors of the Gram matrices of the
 * mode-3 and mode-4 unfoldings (= the leading left singular vectors of the unfoldings; the
 * eigenvalues are the squared singular values), and the core is G = W x_3 U3^T x_4 U4^T
 * [K1, K2, r1, r2]. W_hat = G x_3 U3 x_4 U4, and (De Lathauwer et al. 2000, property 10)
 *   ||W - W_hat||_F^2 <= sum of the discarded squared singular values of mode 3 + those of mode 4.
 * Everything is computed in float64 (ml-matrix's symmetric eigendecomposition).
 */

export interface Tucker2 {
  /** [K1, K2, C, S]. */
  readonly shape: readonly [number, number, number, number];
  readonly ranks: readonly [number, number];
  /** U3, C x r1, row-major. */
  readonly u3: Float64Array;
  /** U4, S x r2, row-major. */
  readonly u4: Float64Array;
  /** G, [K1, K2, r1, r2] row-major. */
  readonly core: Float64Array;
  /** Squared singular values of the mode-3 / mode-4 unfoldings, descending (Gram eigenvalues, clamped at 0). */
  readonly sv2: readonly [readonly number[], readonly number[]];
  /** ||W||_F^2. */
  readonly norm2: number;
  /** Sum of the discarded squared singular values of mode 3 and of mode 4. */
  readonly discarded: readonly [number, number];
}

export type RankChoice = { readonly ranks: readonly [number, number] } | { readonly energy: number };

/** The Gram matrix of the mode-3 (`mode = 2`, C x C) or mode-4 (`mode = 3`, S x S) unfolding of an HWIO filter. */
export function channelGram(w: ArrayLike<number>, shape: readonly number[], mode: 2 | 3): Float64Array {
  const [k1, k2, c, s] = shape;
  const p = k1 * k2;
  const n = mode === 2 ? c : s;
  const g = new Float64Array(n * n);
  for (let q = 0; q < p; q++) {
    const base = q * c * s;
    if (mode === 2) {
      for (let i = 0; i < c; i++)
        for (let j = i; j < c; j++) {
          let acc = 0;
          for (let o = 0; o < s; o++) acc += w[base + i * s + o] * w[base + j * s + o];
          g[i * n + j] += acc;
        }
    } else {
      for (let ci = 0; ci < c; ci++) {
        const row = base + ci * s;
        for (let i = 0; i < s; i++) {
          const wi = w[row + i];
          if (wi === 0) continue;
          for (let j = i; j < s; j++) g[i * n + j] += wi * w[row + j];
        }
      }
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) g[i * n + j] = g[j * n + i];
  return g;
}

/** Eigenvalues (descending, clamped at 0) and eigenvectors (columns, same order) of a symmetric n x n matrix. */
export function symmetricEigen(g: Float64Array, n: number): { values: number[]; vectors: Float64Array } {
  const rows = Array.from({ length: n }, (_, i) => Array.from(g.subarray(i * n, (i + 1) * n)));
  const evd = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  const lambda = evd.realEigenvalues;
  const v = evd.eigenvectorMatrix;
  const order = lambda.map((_, i) => i).sort((a, b) => lambda[b] - lambda[a]);
  const vectors = new Float64Array(n * n);
  order.forEach((src, dst) => {
    for (let i = 0; i < n; i++) vectors[i * n + dst] = v.get(i, src);
  });
  return { values: order.map((i) => Math.max(lambda[i], 0)), vectors };
}

/** The smallest rank whose leading values keep at least `energy` of their total. */
export function rankForEnergy(values: readonly number[], energy: number): number {
  const total = values.reduce((s, v) => s + v, 0);
  if (total === 0) return 1;
  let kept = 0;
  for (let r = 0; r < values.length; r++) {
    kept += values[r];
    if (kept >= energy * total) return r + 1;
  }
  return values.length;
}

/** Truncated HOSVD along the channel modes of an HWIO filter. */
export function tucker2(filter: Tensor, choice: RankChoice): Tucker2 {
  if (filter.shape.length !== 4) throw new Error(`tucker2 needs an HWIO filter, got shape [${filter.shape.join(',')}]`);
  const [k1, k2, c, s] = filter.shape as [number, number, number, number];
  const w = filter.data;
  const e3 = symmetricEigen(channelGram(w, filter.shape, 2), c);
  const e4 = symmetricEigen(channelGram(w, filter.shape, 3), s);
  const clip = (r: number, n: number) => Math.min(Math.max(Math.round(r), 1), n);
  const [r1, r2] =
    'ranks' in choice
      ? [clip(choice.ranks[0], c), clip(choice.ranks[1], s)]
      : [rankForEnergy(e3.values, choice.energy), rankForEnergy(e4.values, choice.energy)];
  const u3 = leadingColumns(e3.vectors, c, r1);
  const u4 = leadingColumns(e4.vectors, s, r2);
  // core[p, a, b] = sum_c sum_s W[p, c, s] U3[c, a] U4[s, b], via T[p, a, s] = sum_c W[p, c, s] U3[c, a].
  const p = k1 * k2;
  const t = new Float64Array(p * r1 * s);
  for (let q = 0; q < p; q++)
    for (let ci = 0; ci < c; ci++)
      for (let a = 0; a < r1; a++) {
        const u = u3[ci * r1 + a];
        if (u === 0) continue;
        const tb = (q * r1 + a) * s;
        const wb = (q * c + ci) * s;
        for (let o = 0; o < s; o++) t[tb + o] += w[wb + o] * u;
      }
  const core = new Float64Array(p * r1 * r2);
  for (let q = 0; q < p; q++)
    for (let a = 0; a < r1; a++) {
      const tb = (q * r1 + a) * s;
      const cb = (q * r1 + a) * r2;
      for (let o = 0; o < s; o++) {
        const x = t[tb + o];
        if (x === 0) continue;
        for (let b = 0; b < r2; b++) core[cb + b] += x * u4[o * r2 + b];
      }
    }
  let norm2 = 0;
  for (let i = 0; i < w.length; i++) norm2 += w[i] * w[i];
  const tail = (v: readonly number[], r: number) => v.slice(r).reduce((sum, x) => sum + x, 0);
  return {
    shape: [k1, k2, c, s],
    ranks: [r1, r2],
    u3,
    u4,
    core,
    sv2: [e3.values, e4.values],
    norm2,
    discarded: [tail(e3.values, r1), tail(e4.values, r2)],
  };
}

function leadingColumns(v: Float64Array, n: number, r: number): Float64Array {
  const out = new Float64Array(n * r);
  for (let i = 0; i < n; i++) for (let j = 0; j < r; j++) out[i * r + j] = v[i * n + j];
  return out;
}

/** The three filters of the factorized conv, in float32: 1x1 C -> r1, K1xK2 r1 -> r2, 1x1 r2 -> S. */
export function tuckerFilters(t: Tucker2): { reduce: Tensor; core: Tensor; expand: Tensor } {
  const [k1, k2, c, s] = t.shape;
  const [r1, r2] = t.ranks;
  const expand = new Float32Array(r2 * s);
  for (let o = 0; o < s; o++) for (let b = 0; b < r2; b++) expand[b * s + o] = t.u4[o * r2 + b];
  return {
    reduce: new Tensor([1, 1, c, r1], Float32Array.from(t.u3)),
    core: new Tensor([k1, k2, r1, r2], Float32Array.from(t.core)),
    expand: new Tensor([1, 1, r2, s], expand),
  };
}

/** The filter the three stored (float32) factors compute, in float64: W_hat[p, c, s] = sum_a sum_b R[c, a] G[p, a, b] E[b, s]. */
export function reconstructFilter(f: { reduce: Tensor; core: Tensor; expand: Tensor }): Float64Array {
  const [, , c, r1] = f.reduce.shape;
  const [k1, k2, , r2] = f.core.shape;
  const s = f.expand.shape[3];
  const p = k1 * k2;
  const out = new Float64Array(p * c * s);
  const ge = new Float64Array(r1 * s); // (G E)[p] : r1 x s
  for (let q = 0; q < p; q++) {
    ge.fill(0);
    for (let a = 0; a < r1; a++)
      for (let b = 0; b < r2; b++) {
        const g = f.core.data[(q * r1 + a) * r2 + b];
        if (g === 0) continue;
        for (let o = 0; o < s; o++) ge[a * s + o] += g * f.expand.data[b * s + o];
      }
    for (let ci = 0; ci < c; ci++)
      for (let a = 0; a < r1; a++) {
        const r = f.reduce.data[ci * r1 + a];
        if (r === 0) continue;
        const ob = (q * c + ci) * s;
        for (let o = 0; o < s; o++) out[ob + o] += r * ge[a * s + o];
      }
  }
  return out;
}

export interface FactorError {
  /** ||W - W_hat||_F / ||W||_F, W_hat from the stored float32 factors. */
  readonly relError: number;
  /** sqrt(discarded mode-3 + mode-4 squared singular values) / ||W||_F: the HOSVD bound, from the computed eigenvalues. */
  readonly boundRel: number;
  /**
   * How far the computed discarded values may be below the true ones (relative, in norm): each Gram
   * eigenvalue is off by at most (m + n) eps64 ||W||_F^2 (forming the Gram matrix: m products per
   * entry; a backward-stable symmetric eigensolver: n eps64 ||G||_2, and ||G||_2 <= ||W||_F^2), so the
   * d discarded ones sum to at most d (m + n) eps64 ||W||_F^2 more: sqrt of that over ||W||_F.
   */
  readonly eigenSlackRel: number;
  /**
   * Extra relative error from storing the factors in float32: with |dU3| <= u|U3|, |dU4| <= u|U4|,
   * |dG| <= u|G| entrywise, orthonormal U3 / U4 and ||G||_F <= ||W||_F,
   *   ||W_hat32 - W_hat||_F <= ((1 + u)(1 + u sqrt(r1))(1 + u sqrt(r2)) - 1) ||W||_F,
   * plus 4 (C + S + K1 K2) eps64 for the float64 products and the eigenvectors' orthogonality.
   */
  readonly storageSlackRel: number;
  /** eigenSlackRel + storageSlackRel: relError <= boundRel + slackRel. */
  readonly slackRel: number;
}

const EPS64 = 2 ** -52;

export function factorError(w: ArrayLike<number>, t: Tucker2, approx: ArrayLike<number>): FactorError {
  const [k1, k2, c, s] = t.shape;
  let diff2 = 0;
  for (let i = 0; i < approx.length; i++) diff2 += (w[i] - approx[i]) ** 2;
  const norm = Math.sqrt(t.norm2);
  if (norm === 0) return { relError: 0, boundRel: 0, eigenSlackRel: 0, storageSlackRel: 0, slackRel: 0 };
  const [r1, r2] = t.ranks;
  const d3 = c - r1;
  const d4 = s - r2;
  const eigenSlackRel = Math.sqrt((d3 * (k1 * k2 * s + c) + d4 * (k1 * k2 * c + s)) * EPS64);
  const storageSlackRel = (1 + U32) * (1 + U32 * Math.sqrt(r1)) * (1 + U32 * Math.sqrt(r2)) - 1 + 4 * (c + s + k1 * k2) * EPS64;
  return {
    relError: Math.sqrt(diff2) / norm,
    boundRel: Math.sqrt(t.discarded[0] + t.discarded[1]) / norm,
    eigenSlackRel,
    storageSlackRel,
    slackRel: eigenSlackRel + storageSlackRel,
  };
}
