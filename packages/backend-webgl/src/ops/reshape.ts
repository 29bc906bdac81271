import { fragmentShader, LANES } from '../glsl.js';
import type { WebGLKernel } from '../program.js';

/**
 * reshape is a view when the packing is unchanged (same last dimension, or both multiples of 4);
 * otherwise this copy program repacks: output element (r, c) is input element number
 * r * cols + c, fetched lane by lane.
 */
export const reshapeKernel: WebGLKernel = {
  op: 'reshape',
  prepare(node, ctx) {
    const x = ctx.operand(node.inputs[0]);
    const y = ctx.output(node);
    const inCols = x.layout.cols;
    const outCols = y.layout.cols;
    let body = `vec4 v = vec4(0.0);\n`;
    for (let j = 0; j < 4; j++) {
      body += `  if (4 * c4 + ${j} < ${outCols}) { int e = r * ${outCols} + 4 * c4 + ${j}; int sr = e / ${inCols}; int sc = e - sr * ${inCols}; v.${LANES[j]} = T0_at(sr, sc >> 2)[sc & 3]; }\n`;
    }
    body += `  outColor = v;`;
    ctx.draw(fragmentShader([x.layout], y.layout, body), [x], y);
  },
};
