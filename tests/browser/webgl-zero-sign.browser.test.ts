/**
 * The sign of zero (docs/SEMANTICS.md, "The sign of zero") on a real GPU stack (SwiftShader in
 * CI): relu, relu6 and the fused relu epilogues give +0 for -0, a maxpool window of -0 gives -0,
 * reshape, slice and concat keep -0, pad adds a constant -0 as -0; checked with core's comparator, which checks the sign where the reference
 * specifies it, and element by element with Object.is. The cpu backend (wasm SIMD in the page) too.
 */
import '@tessera/backend-cpu';
import '@tessera/backend-webgl';
import { GraphBuilder, Tensor, compareToReference, evaluate, type Graph } from '@tessera/core';
import { createSession } from '@tessera/runtime';
import { describe, expect, it } from 'vitest';

const sign = (v: number): string => (Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : String(v));

/** -0 and +0 in every lane of several texels, with negatives, NaN and positives around them; rows h = 0 and 1 alike. */
const ROW = [-0, 0, -1, NaN, 2, -0, -0, -3, 0, -0, 5, -2];
const X = Float32Array.from([...ROW, ...ROW]);

function graph(): Graph {
  const g = new GraphBuilder('zero-sign');
  const x = g.input('x', [1, 2, 3, 4]);
  const a = g.input('a', [2, 4]);
  const w = g.constant('w', new Tensor([4, 4], new Float32Array(16))); // zero weights: every product is ±0
  const b = g.constant('b', new Tensor([4], Float32Array.of(-0, -1, 0, 1)));
  return g.build({
    relu: g.relu(x),
    fusedMatmul: g.op('fused_matmul', [a, w, b], { activation: 'relu', transposeA: false, transposeB: false }),
    pool: g.maxpool(x, { ksize: [2, 1], strides: [1, 1], padding: 'VALID' }),
    reshape: g.reshape(x, [24]),
    slice: g.op('slice', [x], { begin: [0, 0, 0, 0], size: [1, 1, 2, 4], strides: [1, 1, 2, 1] }),
    relu6: g.relu6(x),
    pad: g.pad(a, { paddings: [[0, 0], [1, 2]], value: -0 }),
    concat: g.concat([a, g.reshape(x, [6, 4])], { axis: 0 }),
  });
}

describe('the sign of zero in the browser', () => {
  for (const backend of ['webgl', 'cpu']) {
    it(`${backend}: relu(-0) = +0, fused relu gives +0, maxpool / reshape / slice keep a specified -0`, async () => {
      const g = graph();
      const feeds = { x: X, a: Float32Array.of(-0, -0, -1, -0, 0, -2, -0, -0) };
      const session = await createSession(g, { backend });
      try {
        const out = await session.run(feeds);
        const ref = evaluate(g, feeds);
        for (const [name, r] of Object.entries(ref)) {
          const c = compareToReference(out[name], r);
          expect(c.ok, `${name}: ${JSON.stringify(c.firstFailure)} got ${Array.from(out[name], sign).join(' ')}`).toBe(true);
        }
        expect(Array.from(out.relu, sign).slice(0, 12)).toEqual(['0', '0', '0', 'NaN', '2', '0', '0', '0', '0', '0', '5', '0']);
        expect(Array.from(out.fusedMatmul, sign)).toEqual(['0', '0', '0', '1', '0', '0', '0', '1']);
        // Each window holds one value twice (rows h = 0 and 1 are alike): the max is that value, -0 included.
        expect(Array.from(out.pool, sign)).toEqual(ROW.map(sign));
        expect(Array.from(out.reshape, sign)).toEqual(Array.from(X, sign));
        expect(Array.from(out.slice, sign)).toEqual([...X.slice(0, 4), ...X.slice(8, 12)].map(sign));
        expect(Array.from(out.relu6, sign).slice(0, 12)).toEqual(['0', '0', '0', 'NaN', '2', '0', '0', '0', '0', '0', '5', '0']);
        // The added cells are the constant -0; the copied ones keep the input's zeros.
        expect(Array.from(out.pad, sign)).toEqual(['-0', '-0', '-0', '-1', '-0', '-0', '-0', '-0', '0', '-2', '-0', '-0', '-0', '-0']);
        expect(Array.from(out.concat, sign)).toEqual([...Array.from(feeds.a), ...Array.from(X)].map(sign));
      } finally {
        session.dispose();
      }
    });
  }
});
