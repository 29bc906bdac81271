import { attrsOf, concat, concatAxis, numel, type Shape } from '@tessera/core';
import { LANES, fragmentShader } from '../glsl.js';
import type { PrepareContext, TensorRef, WebGLKernel } from '../program.js';

/** Samplers one draw may read: WebGL2 guarantees at least 16 texture units. */
export const MAX_CONCAT_SAMPLERS = 16;

interface Part {
  readonly ref: TensorRef;
  readonly shape: Shape;
}

/**
 * The draw of one concatenation of at most MAX_CONCAT_SAMPLERS parts into `y` along `axis`
 * (non-negative). Along the last axis, output lane c comes from the part whose channels cover
 * c (whole texels when every part starts on a multiple of 4); along another axis, output row r
 * is row (o * A_k + a - offset_k) * inner + ri of the part k that covers a, texel for texel.
 */
function concatDraw(ctx: PrepareContext, parts: readonly Part[], axis: number, y: TensorRef, out: Shape): void {
  const rank = out.length;
  const ends: number[] = [];
  let total = 0;
  for (const p of parts) ends.push((total += p.shape[axis]));
  const starts = ends.map((e, k) => e - parts[k].shape[axis]);
  let body: string;
  if (axis === rank - 1) {
    if (starts.every((s) => s % 4 === 0)) {
      // Every part starts on a texel: copy texels (a part's padding lanes land in the next part's, or the output's).
      body = parts
        .map((p, k) => `${k ? 'else ' : ''}if (c4 < ${Math.ceil(ends[k] / 4)}) outColor = T${k}_at(r, c4 - ${starts[k] / 4});`)
        .join('\n  ');
      body += '\n  else outColor = vec4(0.0);';
    } else {
      body = `vec4 v = vec4(0.0);\n`;
      for (let j = 0; j < 4; j++) {
        const chain = parts
          .map((_, k) => `${k ? 'else ' : ''}if (c < ${ends[k]}) { int cc = c - ${starts[k]}; v.${LANES[j]} = T${k}_at(r, cc >> 2)[cc & 3]; }`)
          .join(' ');
        body += `  { int c = 4 * c4 + ${j}; ${chain} }\n`;
      }
      body += '  outColor = v;';
    }
  } else {
    const inner = numel(out.slice(axis + 1, -1));
    body = `int ri = r % ${inner}; int t = r / ${inner}; int a = t % ${total}; int o = t / ${total};\n  `;
    body += parts
      .map((p, k) => `${k ? 'else ' : ''}if (a < ${ends[k]}) outColor = T${k}_at((o * ${p.shape[axis]} + a - ${starts[k]}) * ${inner} + ri, c4);`)
      .join('\n  ');
  }
  ctx.draw(fragmentShader(parts.map((p) => p.ref.layout), y.layout, body), parts.map((p) => p.ref), y);
}

/**
 * Concatenation. Up to MAX_CONCAT_SAMPLERS operands in one draw; more are joined in groups into
 * temporaries first (concatenation is associative along one axis), then the groups.
 */
export const concatKernel: WebGLKernel = {
  op: 'concat',
  prepare(node, ctx) {
    const out = node.output.shape;
    const axis = concatAxis(attrsOf(node, concat).axis, out.length);
    let parts: Part[] = node.inputs.map((v) => ({ ref: ctx.operand(v), shape: ctx.graph.value(v).shape }));
    while (parts.length > MAX_CONCAT_SAMPLERS) {
      const groups: Part[] = [];
      for (let i = 0; i < parts.length; i += MAX_CONCAT_SAMPLERS) {
        const group = parts.slice(i, i + MAX_CONCAT_SAMPLERS);
        if (group.length === 1) {
          groups.push(group[0]);
          continue;
        }
        const shape = out.map((d, a) => (a === axis ? group.reduce((s, p) => s + p.shape[axis], 0) : d));
        const ref = ctx.temp(shape);
        concatDraw(ctx, group, axis, ref, shape);
        groups.push({ ref, shape });
      }
      parts = groups;
    }
    concatDraw(ctx, parts, axis, ctx.output(node), out);
  },
};
