import { fragmentShader } from '../glsl.js';
import type { WebGLKernel } from '../program.js';

/** bias_add: the bias is a [C] tensor, one texel row; texel column c4 of it matches the value's. */
export const biasAddKernel: WebGLKernel = {
  op: 'bias_add',
  prepare(node, ctx) {
    const x = ctx.operand(node.inputs[0]);
    const b = ctx.operand(node.inputs[1]);
    const y = ctx.output(node);
    ctx.draw(fragmentShader([x.layout, b.layout], y.layout, `outColor = T0_at(r, c4) + T1_at(0, c4);`), [x, b], y);
  },
};
