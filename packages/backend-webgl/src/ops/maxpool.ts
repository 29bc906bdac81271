import { attrsOf, maxpool, poolGeometry, type Node, type PoolAttrs } from '@tessera/core';
import { fragmentShader } from '../glsl.js';
import type { PrepareContext, WebGLKernel } from '../program.js';

/**
 * Draws a pool (maxpool, avg_pool), 4 channels per texel: `init` declares the accumulators,
 * `cell` runs for every window cell inside the input with `vec4 v` (padded cells are skipped),
 * `finish` assigns outColor.
 */
export function drawPool(node: Node, ctx: PrepareContext, attrs: PoolAttrs, init: string, cell: string, finish: string): void {
  const x = ctx.operand(node.inputs[0]);
  const g = poolGeometry(ctx.graph.value(node.inputs[0]).shape, attrs);
  const y = ctx.output(node);
  const body = `int ox = r % ${g.outW}; int t = r / ${g.outW}; int oy = t % ${g.outH}; int n = t / ${g.outH};
  int iy0 = oy * ${g.strideH} - ${g.padTop}; int ix0 = ox * ${g.strideW} - ${g.padLeft};
  ${init}
  for (int ky = 0; ky < ${g.kH}; ky++) {
    int iy = iy0 + ky;
    if (iy < 0 || iy >= ${g.inH}) continue;
    for (int kx = 0; kx < ${g.kW}; kx++) {
      int ix = ix0 + kx;
      if (ix < 0 || ix >= ${g.inW}) continue;
      vec4 v = T0_at((n * ${g.inH} + iy) * ${g.inW} + ix, c4);
      ${cell}
    }
  }
  ${finish}`;
  ctx.draw(fragmentShader([x.layout], y.layout, body), [x], y);
}

/** Max over the window, 4 channels per texel; padded cells are skipped (never win), NaN wins. */
export const maxpoolKernel: WebGLKernel = {
  op: 'maxpool',
  prepare(node, ctx) {
    drawPool(
      node,
      ctx,
      attrsOf(node, maxpool),
      'vec4 best = vec4(NEG_INF);',
      // Take v where it is larger, or NaN; a NaN already taken stays (NaN > v is false, v > NaN too).
      'best = mix(best, v, bvec4(uvec4(greaterThan(v, best)) | uvec4(isnan4(v))));',
      'outColor = best;',
    );
  },
};
