import { z } from 'zod';
import { OpError } from '../errors.js';
import { expectRank, shapeStr, type Shape } from '../shape.js';
import { DotAccumulator, refTensorWithLikely } from './numerics.js';
import { defineOp, type RefTensor } from './spec.js';

/**
 * tf.matmul for rank 2 ([M,K] x [K,N]) and rank 3 with a batch dimension; a rank-2 b is
 * shared by every batch of a rank-3 a. transposeA / transposeB transpose the last two axes.
 */
export const matmulAttrs = z
  .object({ transposeA: z.boolean().default(false), transposeB: z.boolean().default(false) })
  .strict();
export type MatmulAttrs = z.output<typeof matmulAttrs>;

export interface MatmulGeometry {
  readonly batch: number;
  readonly m: number;
  readonly k: number;
  readonly n: number;
  /** b has no batch dimension: every batch uses the same b. */
  readonly sharedB: boolean;
  readonly transposeA: boolean;
  readonly transposeB: boolean;
}

export function matmulGeometry(a: Shape, b: Shape, attrs: MatmulAttrs): MatmulGeometry {
  expectRank(a, [2, 3], 'a');
  expectRank(b, a.length === 3 ? [2, 3] : [2], 'b');
  const batch = a.length === 3 ? a[0] : 1;
  if (b.length === 3 && b[0] !== batch) {
    throw new OpError(`batch dimensions differ: a ${shapeStr(a)}, b ${shapeStr(b)}`);
  }
  const [ar, ac] = a.slice(-2) as [number, number];
  const [br, bc] = b.slice(-2) as [number, number];
  const [m, ka] = attrs.transposeA ? [ac, ar] : [ar, ac];
  const [kb, n] = attrs.transposeB ? [bc, br] : [br, bc];
  if (ka !== kb) {
    throw new OpError(
      `inner dimensions differ: a ${shapeStr(a)}${attrs.transposeA ? ' (transposed)' : ''} has ${ka} columns, b ${shapeStr(b)}${attrs.transposeB ? ' (transposed)' : ''} has ${kb} rows`,
    );
  }
  return { batch, m, k: ka, n, sharedB: b.length === 2, ...attrs };
}

export function matmulOutputShape(a: Shape, g: MatmulGeometry): Shape {
  return a.length === 3 ? [g.batch, g.m, g.n] : [g.m, g.n];
}

export function matmulReference(a: RefTensor, b: RefTensor, attrs: MatmulAttrs): RefTensor {
  const g = matmulGeometry(a.shape, b.shape, attrs);
  const out = refTensorWithLikely(matmulOutputShape(a.shape, g));
  const acc = new DotAccumulator();
  // Element (i, p) of a and (p, j) of b, within one batch, honouring the transposes.
  const aStride = attrs.transposeA ? [1, g.m] : [g.k, 1];
  const bStride = attrs.transposeB ? [1, g.k] : [g.n, 1];
  for (let t = 0; t < g.batch; t++) {
    const aBase = t * g.m * g.k;
    const bBase = g.sharedB ? 0 : t * g.k * g.n;
    for (let i = 0; i < g.m; i++)
      for (let j = 0; j < g.n; j++) {
        acc.reset();
        for (let p = 0; p < g.k; p++) {
          const ai = aBase + i * aStride[0] + p * aStride[1];
          const bi = bBase + p * bStride[0] + j * bStride[1];
          acc.add(a.value[ai], a.bound[ai], b.value[bi], b.bound[bi]);
        }
        const o = (t * g.m + i) * g.n + j;
        out.value[o] = acc.value;
        out.bound[o] = acc.bound(g.k);
        out.likely[o] = acc.likely(g.k);
      }
  }
  return out;
}

export const matmul = defineOp({
  name: 'matmul',
  inputs: ['a', 'b'],
  attrs: matmulAttrs,
  inferShape([a, b], attrs) {
    return matmulOutputShape(a, matmulGeometry(a, b, attrs));
  },
  cost([a, b], _out, attrs) {
    const g = matmulGeometry(a, b, attrs);
    return { macs: g.batch * g.m * g.n * g.k };
  },
  reference: ([a, b], attrs) => matmulReference(a, b, attrs),
});
