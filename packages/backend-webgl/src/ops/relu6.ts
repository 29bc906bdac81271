import { fragmentShader } from '../glsl.js';
import type { WebGLKernel } from '../program.js';

/** relu6(x) = min(max(x, 0), 6), NaN kept and +0 for x <= 0 (relu6_4 selects each explicitly, as relu4). */
export const relu6Kernel: WebGLKernel = {
  op: 'relu6',
  prepare(node, ctx) {
    const x = ctx.operand(node.inputs[0]);
    const y = ctx.output(node);
    ctx.draw(fragmentShader([x.layout], y.layout, `outColor = relu6_4(T0_at(r, c4));`), [x], y);
  },
};
