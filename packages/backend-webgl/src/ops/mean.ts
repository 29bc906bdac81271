import { attrsOf, mean, reduction } from '@tessera/core';
import { f, fragmentShader, LANES } from '../glsl.js';
import type { WebGLKernel } from '../program.js';

/** GLSL adding to `target` the input offset of index `index` over these sizes and strides (core's offsetOf). */
function offsetCode(target: string, index: string, sizes: readonly number[], strides: readonly number[]): string {
  let code = `{ int rest = ${index};`;
  for (let a = sizes.length - 1; a >= 0; a--) code += ` ${target} += (rest % ${sizes[a]}) * ${strides[a]}; rest /= ${sizes[a]};`;
  return `${code} }`;
}

/**
 * tf.reduce_mean. When the last (channel) axis is kept, an output texel sums whole input texels
 * (4 channels at once); otherwise each lane sums its own elements.
 */
export const meanKernel: WebGLKernel = {
  op: 'mean',
  prepare(node, ctx) {
    const x = ctx.operand(node.inputs[0]);
    const inShape = ctx.graph.value(node.inputs[0]).shape;
    const attrs = attrsOf(node, mean);
    const r = reduction(inShape, attrs);
    const y = ctx.output(node);
    const rank = inShape.length;
    const cIn = inShape[rank - 1];
    const cOut = r.outShape[r.outShape.length - 1];
    const lastKept = !attrs.axes.some((a) => (a + rank) % rank === rank - 1);
    let body: string;
    if (lastKept) {
      // Output row r starts at a multiple of C in the input, and every reduced stride is one too.
      body = `int base = 0; ${offsetCode('base', `r * ${cIn}`, r.keptSizes, r.keptStrides)}
  int row0 = base / ${cIn};
  vec4 sum = vec4(0.0);
  for (int k = 0; k < ${r.count}; k++) {
    int off = 0; ${offsetCode('off', 'k', r.reducedSizes, r.reducedStrides)}
    sum += T0_at(row0 + off / ${cIn}, c4);
  }
  outColor = sum / ${f(r.count)};`;
    } else {
      body = `vec4 res = vec4(0.0);\n`;
      for (let j = 0; j < 4; j++) {
        body += `  if (4 * c4 + ${j} < ${cOut}) {
    int base = 0; ${offsetCode('base', `r * ${cOut} + 4 * c4 + ${j}`, r.keptSizes, r.keptStrides)}
    float sum = 0.0;
    for (int k = 0; k < ${r.count}; k++) {
      int i = base; ${offsetCode('i', 'k', r.reducedSizes, r.reducedStrides)}
      int col = i % ${cIn};
      sum += T0_at(i / ${cIn}, col >> 2)[col & 3];
    }
    res.${LANES[j]} = sum / ${f(r.count)};
  }\n`;
      }
      body += `  outColor = res;`;
    }
    ctx.draw(fragmentShader([x.layout], y.layout, body), [x], y);
  },
};
