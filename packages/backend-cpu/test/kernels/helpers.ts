import type { Conv2dGeometry } from '../../src/kernels/conv2d.js';
/**
 * Test helpers shared by the kernel tests: a seeded PRNG for bulk data, a
 * tolerance check and a row-range splitter. Independent of the code under test.
 */

/** mulberry32: small deterministic PRNG, returns floats in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Float32Array of n values uniform in [-1, 1) (exactly representable). */
export function randomArray(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r() * 2 - 1;
  return a;
}

/**
 * Checks |got - ref| <= 2*(K+2)*2^-24*absSum + 1e-30 element-wise; returns a
 * description of the first violation or undefined.
 */
export function firstViolation(
  got: ArrayLike<number>, ref: ArrayLike<number>, absSum: ArrayLike<number>, K: number,
): string | undefined {
  for (let i = 0; i < ref.length; i++) {
    const tol = 2 * (K + 2) * 2 ** -24 * absSum[i] + 1e-30;
    const g = got[i];
    const r = ref[i];
    if (Number.isNaN(r) ? !Number.isNaN(g) : !(Math.abs(g - r) <= tol)) {
      return `element ${i}: got ${g}, expected ${r} (tol ${tol})`;
    }
  }
  return undefined;
}

/**
 * Splits [0, M) at the given cut fractions (each in [0, 1]) into disjoint
 * ranges covering it, possibly empty.
 */
export function splitRanges(M: number, cuts: number[]): Array<[number, number]> {
  const points = cuts.map((c) => Math.floor(c * M)).sort((a, b) => a - b);
  const ranges: Array<[number, number]> = [];
  let prev = 0;
  for (const p of [...points, M]) {
    ranges.push([prev, p]);
    prev = p;
  }
  return ranges;
}

/** Index of the first element whose bit pattern differs (all NaNs alike), or -1. */
export function firstBitDifference(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (ua.length !== ub.length) return 0;
  for (let i = 0; i < ua.length; i++) {
    // Any NaN equals any NaN: payload and sign of NaN are not specified.
    if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  }
  return -1;
}

/** Fill value of C outside the M x N block: a kernel must never write there. */
export const SENTINEL = 1234.5;

/** Where a GEMM case's result block sits in C. */
export interface CBlock {
  readonly M: number;
  readonly N: number;
  readonly cOff: number;
  readonly ldc: number;
}

/** The M x N result block out of C (drops offset and ldc padding). */
export function extract(t: CBlock, c: Float32Array): Float32Array {
  const out = new Float32Array(t.M * t.N);
  for (let i = 0; i < t.M; i++) for (let n = 0; n < t.N; n++) out[i * t.N + n] = c[t.cOff + i * t.ldc + n];
  return out;
}

/** True when every C element outside the M x N block still holds the sentinel. */
export function paddingUntouched(t: CBlock, c: Float32Array): boolean {
  for (let idx = 0; idx < c.length; idx++) {
    const rel = idx - t.cOff;
    const inside = rel >= 0 && rel % t.ldc < t.N && Math.floor(rel / t.ldc) < t.M;
    if (!inside && c[idx] !== SENTINEL) return false;
  }
  return true;
}

/** Drawn window parameters: sizes, strides, dilations and wished-for pads (pt, pl, pb, pr). */
export interface WindowDraw {
  batch: number; inH: number; inW: number; C: number; kH: number; kW: number;
  strideH: number; strideW: number; dilationH: number; dilationW: number;
  pt: number; pl: number; pb: number; pr: number;
}

/**
 * A pooling geometry (outC = inC) from drawn parameters, with padding smaller than the window so
 * every window sees at least one input cell (as SAME and VALID guarantee).
 */
export function poolGeometryOf(p: WindowDraw): Conv2dGeometry {
  const effH = (p.kH - 1) * p.dilationH + 1;
  const effW = (p.kW - 1) * p.dilationW + 1;
  const padTop = Math.min(p.pt, effH - 1);
  const padLeft = Math.min(p.pl, effW - 1);
  const padBottom = Math.max(Math.min(p.pb, effH - 1), effH - p.inH - padTop);
  const padRight = Math.max(Math.min(p.pr, effW - 1), effW - p.inW - padLeft);
  return {
    batch: p.batch, inH: p.inH, inW: p.inW, inC: p.C, kH: p.kH, kW: p.kW, outC: p.C,
    outH: Math.floor((p.inH + padTop + padBottom - effH) / p.strideH) + 1,
    outW: Math.floor((p.inW + padLeft + padRight - effW) / p.strideW) + 1,
    strideH: p.strideH, strideW: p.strideW, dilationH: p.dilationH, dilationW: p.dilationW, padTop, padLeft,
  };
}
