import { rowMajorStrides, transposeGeometry, type Shape } from '@tessera/core';

/**
 * The transpose loop. The output (reduced by core's `transposeGeometry`) is cut into units: a
 * grid over its axes where the input's contiguous axis `q` and the output's last axis are cut
 * into tiles (or, when both are the same axis, the last axis into runs). A tile reads contiguous
 * input along q and writes contiguous output along the last axis, small enough to stay in L1,
 * so both sides move whole cache lines. Units are independent: a scheduler may split anywhere.
 */
export interface TransposePlan {
  /** The reduced output shape, its row-major strides, and per axis the input stride it reads. */
  readonly shape: readonly number[];
  readonly outStrides: readonly number[];
  readonly inStrides: readonly number[];
  /** Elements per unit along each axis (1 but for the tiled axes) and the unit grid. */
  readonly block: readonly number[];
  readonly grid: readonly number[];
  /** The output axis that reads the input's contiguous axis; -1 when it is the last (runs are copied). */
  readonly q: number;
  readonly units: number;
  /** Elements per (full) unit. */
  readonly unitSize: number;
}

/** Elements of one tile: 4 KiB read and 4 KiB written, well inside L1. */
const TILE_ELEMENTS = 1024;
/** Floats of one copied run unit (the contiguous case): big enough to amortize, small enough to split. */
const RUN_CHUNK = 8192;
/** Shortest run copied with TypedArray.set; shorter ones by a loop (set's view costs more). */
const SET_MIN = 64;

export function transposePlan(inShape: Shape, perm: readonly number[]): TransposePlan {
  const g = transposeGeometry(inShape, perm);
  // A reduced rank 0 is a single element: one axis of 1.
  const shape = g.shape.length ? [...g.shape] : [1];
  const inStrides = g.strides.length ? [...g.strides] : [1];
  const last = shape.length - 1;
  const block = shape.map(() => 1);
  let q = inStrides.indexOf(1);
  if (q === last) {
    q = -1;
    block[last] = Math.min(shape[last], RUN_CHUNK);
  } else {
    // Tile sides of about 32, the short side whole when it is shorter, the other side filling the tile.
    block[last] = Math.min(shape[last], 32);
    block[q] = Math.min(shape[q], Math.max(32, Math.floor(TILE_ELEMENTS / block[last])));
    block[last] = Math.min(shape[last], Math.max(block[last], Math.floor(TILE_ELEMENTS / block[q])));
  }
  const grid = shape.map((d, a) => Math.ceil(d / block[a]));
  return {
    shape,
    outStrides: rowMajorStrides(shape),
    inStrides,
    block,
    grid,
    q,
    units: grid.reduce((p, d) => p * d, 1),
    unitSize: block.reduce((p, d) => p * d, 1),
  };
}

/** Runs units [start, end) of a transpose from x (at xOff) into y (at yOff); x and y must not overlap. */
export function transposeUnits(p: TransposePlan, x: Float32Array, xOff: number, y: Float32Array, yOff: number, start: number, end: number): void {
  if (end <= start) return;
  const { shape, grid, block, inStrides, outStrides, q } = p;
  const last = shape.length - 1;
  // Grid index of unit `start` and the element offsets it starts at; later units follow by carries.
  const index = new Array<number>(grid.length);
  let src = xOff;
  let dst = yOff;
  for (let a = last, rest = start; a >= 0; a--) {
    index[a] = rest % grid[a];
    rest = (rest - index[a]) / grid[a];
    src += index[a] * block[a] * inStrides[a];
    dst += index[a] * block[a] * outStrides[a];
  }
  const sLast = inStrides[last];
  const tq = q >= 0 ? outStrides[q] : 0;
  for (let u = start; u < end; u++) {
    const nLast = Math.min(block[last], shape[last] - index[last] * block[last]);
    if (q < 0) {
      if (nLast >= SET_MIN) y.set(x.subarray(src, src + nLast), dst);
      else for (let j = 0; j < nLast; j++) y[dst + j] = x[src + j];
    } else {
      const nq = Math.min(block[q], shape[q] - index[q] * block[q]);
      tile(x, src, y, dst, nq, nLast, tq, sLast);
    }
    for (let a = last; a >= 0; a--) {
      src += block[a] * inStrides[a];
      dst += block[a] * outStrides[a];
      if (++index[a] < grid[a]) break;
      src -= grid[a] * block[a] * inStrides[a];
      dst -= grid[a] * block[a] * outStrides[a];
      index[a] = 0;
    }
  }
}

/**
 * One tile: y[d + i * tq + j] = x[s + i + j * sj] for i < nq, j < nl. Four rows (or, when the
 * tile has fewer than 4 rows, four columns) per pass: four times fewer loop steps, which in V8
 * made NHWC <-> NCHW of 56x56x256 about 2x faster than one element per step.
 */
function tile(x: Float32Array, s: number, y: Float32Array, d: number, nq: number, nl: number, tq: number, sj: number): void {
  let i = 0;
  if (nq >= 4) {
    for (; i + 4 <= nq; i += 4, s += 4, d += 4 * tq) {
      const d1 = d + tq;
      const d2 = d1 + tq;
      const d3 = d2 + tq;
      for (let j = 0, k = s; j < nl; j++, k += sj) {
        y[d + j] = x[k];
        y[d1 + j] = x[k + 1];
        y[d2 + j] = x[k + 2];
        y[d3 + j] = x[k + 3];
      }
    }
  } else {
    let j = 0;
    for (; j + 4 <= nl; j += 4) {
      const k0 = s + j * sj;
      const k1 = k0 + sj;
      const k2 = k1 + sj;
      const k3 = k2 + sj;
      for (let r = 0, o = d + j; r < nq; r++, o += tq) {
        y[o] = x[k0 + r];
        y[o + 1] = x[k1 + r];
        y[o + 2] = x[k2 + r];
        y[o + 3] = x[k3 + r];
      }
    }
    for (let r = 0; r < nq; r++) for (let jj = j; jj < nl; jj++) y[d + r * tq + jj] = x[s + r + jj * sj];
    return;
  }
  for (; i < nq; i++, s++, d += tq) {
    for (let j = 0, k = s; j < nl; j++, k += sj) y[d + j] = x[k];
  }
}
