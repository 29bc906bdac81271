import { attrsOf, maxpool, poolGeometry } from '@tessera/core';
import { fragmentShader } from '../glsl.js';
import type { WebGLKernel } from '../program.js';

/** Max over the window, 4 channels per texel; padded cells are skipped (never win), NaN wins. */
export const maxpoolKernel: WebGLKernel = {
  op: 'maxpool',
  prepare(node, ctx) {
    const x = ctx.operand(node.inputs[0]);
    const g = poolGeometry(ctx.graph.value(node.inputs[0]).shape, attrsOf(node, maxpool));
    const y = ctx.output(node);
    const body = `int ox = r % ${g.outW}; int t = r / ${g.outW}; int oy = t % ${g.outH}; int n = t / ${g.outH};
  int iy0 = oy * ${g.strideH} - ${g.padTop}; int ix0 = ox * ${g.strideW} - ${g.padLeft};
  vec4 best = vec4(NEG_INF);
  for (int ky = 0; ky < ${g.kH}; ky++) {
    int iy = iy0 + ky;
    if (iy < 0 || iy >= ${g.inH}) continue;
    for (int kx = 0; kx < ${g.kW}; kx++) {
      int ix = ix0 + kx;
      if (ix < 0 || ix >= ${g.inW}) continue;
      vec4 v = T0_at((n * ${g.inH} + iy) * ${g.inW} + ix, c4);
      // Take v where it is larger, or NaN; a NaN already taken stays (NaN > v is false, v > NaN too).
      best = mix(best, v, bvec4(uvec4(greaterThan(v, best)) | uvec4(isnan4(v))));
    }
  }
  outColor = best;`;
    ctx.draw(fragmentShader([x.layout], y.layout, body), [x], y);
  },
};
