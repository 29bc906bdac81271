import { attrsOf, convGeometry, depthwiseConv2d, type ConvGeometry } from '@tessera/core';
import { fragmentShader, LANES } from '../glsl.js';
import type { WebGLKernel } from '../program.js';
import { windowTaps } from './conv2d.js';

/**
 * Direct depthwise conv: output texel (pixel r, output channels 4*c4..) sums, over the taps,
 * input values times filter values lane by lane. Output channel co reads input channel
 * co / M and filter [tap, co / M, co % M]. A constant filter is uploaded as [KH*KW, C*M] (the
 * same data), so a tap's weights for the texel are one fetch; with M = 1 so are the inputs.
 * Padded taps multiply 0 (the reference); skipped for a constant, finite filter.
 */
function depthwiseBody(g: ConvGeometry, M: number, constantFilter: boolean, skipPadding: boolean): string {
  const lanes = (expr: (l: string) => string) => `vec4(${LANES.map(expr).join(', ')})`;
  const x = M === 1 ? 'T0_at(xRow, c4)' : lanes((l) => `T0_at(xRow, ch.${l} >> 2)[ch.${l} & 3]`);
  const w = constantFilter ? 'T1_at(tap, c4)' : lanes((l) => `T1_at(tap * ${g.inC} + ch.${l}, mm.${l} >> 2)[mm.${l} & 3]`);
  // Lanes past the last channel (texel padding) repeat it: in range, and never read as data.
  const setup = `ivec4 co = min(ivec4(c4 * 4) + ivec4(0, 1, 2, 3), ivec4(${g.outC - 1}));
  ivec4 ch = co / ${M}; ivec4 mm = co - ch * ${M};`;
  const tap = `int tap = ky * ${g.kW} + kx;
      acc += (inside ? ${x} : vec4(0.0)) * ${w};`;
  return `${windowTaps(g, skipPadding, setup, tap)}
  outColor = acc;`;
}

export const depthwiseConv2dKernel: WebGLKernel = {
  op: 'depthwise_conv2d',
  prepare(node, ctx) {
    const [xName, fName] = node.inputs;
    const filterShape = ctx.graph.value(fName).shape;
    const g = convGeometry(ctx.graph.value(xName).shape, filterShape, attrsOf(node, depthwiseConv2d), true);
    const filter = ctx.graph.constants.get(fName);
    const w = filter ? ctx.constant(fName, 'taps', [g.kH * g.kW, g.outC], () => filter.data) : ctx.operand(fName);
    const x = ctx.operand(xName);
    const y = ctx.output(node);
    const body = depthwiseBody(g, filterShape[3], filter !== undefined, filter !== undefined && filter.data.every(Number.isFinite));
    ctx.draw(fragmentShader([x.layout, w.layout], y.layout, body), [x, w], y);
  },
};
