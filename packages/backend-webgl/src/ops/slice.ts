import { attrsOf, rowMajorStrides, slice } from '@tessera/core';
import { fragmentShader, LANES } from '../glsl.js';
import type { WebGLKernel } from '../program.js';

/**
 * Strided slice. Output row r (all axes but the last) maps to an input row through the outer
 * axes; along the last axis, lane j of texel c4 reads element begin + (4*c4 + j) * stride.
 * With stride 1 and a begin that is a multiple of 4 a whole texel is copied at once.
 */
export const sliceKernel: WebGLKernel = {
  op: 'slice',
  prepare(node, ctx) {
    const x = ctx.operand(node.inputs[0]);
    const inShape = ctx.graph.value(node.inputs[0]).shape;
    const { begin, strides } = attrsOf(node, slice);
    const out = node.output.shape;
    const y = ctx.output(node);
    const last = out.length - 1;
    // Strides of the input's outer axes, in rows.
    const rowStrides = rowMajorStrides(inShape.slice(0, -1));
    let body = `int rest = r; int src = 0;\n`;
    for (let a = last - 1; a >= 0; a--) {
      body += `  { int i = rest % ${out[a]}; rest /= ${out[a]}; src += (${begin[a]} + i * ${strides[a]}) * ${rowStrides[a]}; }\n`;
    }
    const b = begin[last];
    const s = strides[last];
    const n = out[last];
    if (s === 1 && b % 4 === 0) {
      body += `  outColor = T0_at(src, c4 + ${b / 4});`;
    } else {
      body += `  vec4 v = vec4(0.0);\n`;
      for (let j = 0; j < 4; j++) {
        body += `  if (4 * c4 + ${j} < ${n}) { int c = ${b} + (4 * c4 + ${j}) * ${s}; v.${LANES[j]} = T0_at(src, c >> 2)[c & 3]; }\n`;
      }
      body += `  outColor = v;`;
    }
    ctx.draw(fragmentShader([x.layout], y.layout, body), [x], y);
  },
};
