import { attrsOf, pad, rowMajorStrides } from '@tessera/core';
import { LANES, f32Bits, fragmentShader } from '../glsl.js';
import type { WebGLKernel } from '../program.js';

/**
 * Constant padding. Output row r maps to an input row through the outer axes (none where it lies
 * in their padding); along the last axis lane j of texel c4 reads input element 4*c4 + j - before,
 * or the constant outside. With before and the input's width multiples of 4, whole texels are
 * copied. The constant is written by its bits, so every float32 stays exact, -0 included.
 */
export const padKernel: WebGLKernel = {
  op: 'pad',
  prepare(node, ctx) {
    const x = ctx.operand(node.inputs[0]);
    const y = ctx.output(node);
    const { paddings, value } = attrsOf(node, pad);
    const inShape = ctx.graph.value(node.inputs[0]).shape;
    // A rank-0 pad is a copy of one element: one row of one column.
    const shape = inShape.length ? inShape : [1];
    const pads = paddings.length ? paddings : [[0, 0] as const];
    const out = shape.map((d, i) => d + pads[i][0] + pads[i][1]);
    const last = shape.length - 1;
    const rowStrides = rowMajorStrides(shape.slice(0, -1));
    // A constant -0 is folded to +0 by shader compilers (SwiftShader's does): built from r at run time instead.
    const v = Object.is(Math.fround(value), -0) ? 'uintBitsToFloat(0x80000000u | uint(min(r, 0)))' : f32Bits(value);
    let body = `int rest = r; int src = 0; bool inside = true;\n`;
    for (let a = last - 1; a >= 0; a--) {
      body += `  { int i = rest % ${out[a]} - ${pads[a][0]}; rest /= ${out[a]}; inside = inside && i >= 0 && i < ${shape[a]}; src += i * ${rowStrides[a]}; }\n`;
    }
    const before = pads[last][0];
    const cols = shape[last];
    if (before % 4 === 0 && cols % 4 === 0) {
      body += `  int s4 = c4 - ${before / 4};\n  outColor = inside && s4 >= 0 && s4 < ${cols / 4} ? T0_at(src, s4) : vec4(${v});`;
    } else {
      body += `  vec4 v = vec4(${v});\n  if (inside) {\n`;
      for (let j = 0; j < 4; j++) {
        body += `    { int c = 4 * c4 + ${j} - ${before}; if (c >= 0 && c < ${cols}) v.${LANES[j]} = T0_at(src, c >> 2)[c & 3]; }\n`;
      }
      body += `  }\n  outColor = v;`;
    }
    ctx.draw(fragmentShader([x.layout], y.layout, body), [x], y);
  },
};
