import { attrsOf, batchNorm } from '@tessera/core';
import { fragmentShader } from '../glsl.js';
import type { WebGLKernel } from '../program.js';

/**
 * batch_norm: the four statistics are [C] tensors, one texel row each, read at the value's texel
 * column. inversesqrt is undefined for t <= 0 and t = +Inf, so 1 / sqrt(t) takes IEEE's values
 * there explicitly (+Inf at 0, 0 at +Inf, NaN below 0 or for NaN) as the reference does.
 * (x - mean) * (scale * q), as the cpu kernel: a normal result of a tiny difference and a tiny
 * scale survives a device that flushes subnormals (SwiftShader does), where the subnormal
 * (x - mean) * scale would be flushed to 0 before the multiplication by q.
 */
export const batchNormKernel: WebGLKernel = {
  op: 'batch_norm',
  prepare(node, ctx) {
    const inputs = node.inputs.map((v) => ctx.operand(v));
    const y = ctx.output(node);
    const body = `vec4 t = T2_at(0, c4) + vec4(${attrsOf(node, batchNorm).epsilon.toExponential()});
  vec4 q = inversesqrt(t);
  q = mix(q, vec4(uintBitsToFloat(0x7f800000u)), equal(t, vec4(0.0)));
  q = mix(q, vec4(0.0), equal(floatBitsToUint(t), uvec4(0x7f800000u)));
  q = mix(q, vec4(uintBitsToFloat(0x7fc00000u)), bvec4(uvec4(lessThan(t, vec4(0.0))) | uvec4(isnan4(t))));
  outColor = (T0_at(r, c4) - T1_at(0, c4)) * (T4_at(0, c4) * q) + T3_at(0, c4);`;
    ctx.draw(fragmentShader(inputs.map((t) => t.layout), y.layout, body), inputs, y);
  },
};
