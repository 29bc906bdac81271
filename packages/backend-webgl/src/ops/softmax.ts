import type { WebGLKernel } from '../program.js';
import { fragmentShader } from '../glsl.js';

/**
 * Softmax over the last axis (a texture row): every fragment finds its row's maximum and sum of
 * exp(x - max), then writes its 4 lanes. Lanes past the row's end are masked to -Inf. GLSL
 * promises no IEEE NaN / Inf arithmetic, so TensorFlow's rules are selected explicitly: a NaN, a
 * +Inf, or a row of -Inf only gives a NaN row; a -Inf gives exactly 0.
 */
export const softmaxKernel: WebGLKernel = {
  op: 'softmax',
  prepare(node, ctx) {
    const x = ctx.operand(node.inputs[0]);
    const y = ctx.output(node);
    const k = x.layout.cols;
    const body = `bool bad = false; float m = NEG_INF;
  for (int t = 0; t < ${x.layout.c4}; t++) {
    vec4 w = masked(T0_at(r, t), t);
    bad = bad || any(isnan4(w));
    m = max(m, max(max(w.x, w.y), max(w.z, w.w)));
  }
  // +Inf - +Inf and -Inf - -Inf are NaN in IEEE arithmetic: TensorFlow gives a NaN row.
  bad = bad || (floatBitsToUint(m) & 0x7fffffffu) == 0x7f800000u;
  float sum = 0.0;
  for (int t = 0; t < ${x.layout.c4}; t++) sum += dot(expShifted(masked(T0_at(r, t), t), m), vec4(1.0));
  outColor = bad ? vec4(uintBitsToFloat(0x7fc00000u)) : expShifted(masked(T0_at(r, c4), c4), m) / sum;`;
    const helpers = `vec4 masked(vec4 v, int t) { return mix(vec4(NEG_INF), v, lessThan(ivec4(4 * t) + ivec4(0, 1, 2, 3), ivec4(${k}))); }
// exp(v - m), with -Inf (and masked lanes) giving exactly 0.
vec4 expShifted(vec4 v, float m) { return mix(vec4(0.0), exp(v - m), notEqual(floatBitsToUint(v), uvec4(0xff800000u))); }
`;
    ctx.draw(fragmentShader([x.layout], y.layout, body, helpers), [x], y);
  },
};
