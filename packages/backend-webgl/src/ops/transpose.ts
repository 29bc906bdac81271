import { attrsOf, transpose, transposePerm, transposeStrides } from '@tessera/core';
import { LANES, fragmentShader, rowDecomposition } from '../glsl.js';
import type { WebGLKernel } from '../program.js';

/**
 * Transpose. Output row r (all axes but the last) gives, through the input strides of its axes,
 * the input element `src` its row starts from; lane j of texel c4 reads input element
 * src + (4*c4 + j) * s, s the input stride of the output's last axis, found in its row and lane.
 * When the last axis stays last (s = 1), rows are whole input rows: texels are copied.
 */
export const transposeKernel: WebGLKernel = {
  op: 'transpose',
  prepare(node, ctx) {
    const x = ctx.operand(node.inputs[0]);
    const y = ctx.output(node);
    const inShape = ctx.graph.value(node.inputs[0]).shape;
    const strides = transposeStrides(inShape, transposePerm(attrsOf(node, transpose).perm, inShape.length));
    const out = node.output.shape;
    // A rank-0 transpose is a copy of one element.
    const last = Math.max(out.length - 1, 0);
    const s = strides.length ? strides[last] : 1;
    let body = rowDecomposition('r', out.slice(0, -1), ['src'], [strides.slice(0, -1)]);
    const inCols = x.layout.cols;
    if (s === 1) {
      body += `  outColor = T0_at(src / ${inCols}, c4);`;
    } else {
      body += `  vec4 v = vec4(0.0);\n`;
      for (let j = 0; j < 4; j++) {
        body += `  if (4 * c4 + ${j} < ${y.layout.cols}) { int e = src + (4 * c4 + ${j}) * ${s}; int sr = e / ${inCols}; int sc = e - sr * ${inCols}; v.${LANES[j]} = T0_at(sr, sc >> 2)[sc & 3]; }\n`;
      }
      body += `  outColor = v;`;
    }
    ctx.draw(fragmentShader([x.layout], y.layout, body), [x], y);
  },
};
