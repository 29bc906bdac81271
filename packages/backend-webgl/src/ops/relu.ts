import { fragmentShader } from '../glsl.js';
import type { PrepareContext, WebGLKernel } from '../program.js';
import type { Node } from '@tessera/core';

/** relu(x) = max(x, 0), NaN kept and relu(-0) = +0 (GLSL max() promises neither, so relu4 selects both explicitly). */
export const reluKernel: WebGLKernel = {
  op: 'relu',
  prepare(node: Node, ctx: PrepareContext) {
    const x = ctx.operand(node.inputs[0]);
    const y = ctx.output(node);
    ctx.draw(fragmentShader([x.layout], y.layout, `outColor = relu4(T0_at(r, c4));`), [x], y);
  },
};
