import { attrsOf, convGeometry, depthwiseConv2d, type Activation, type Conv2dAttrs, type ConvGeometry, type Node } from '@tessera/core';
import { epilogueExpr } from '../gemm.js';
import { fragmentShader, LANES } from '../glsl.js';
import type { PrepareContext, WebGLKernel } from '../program.js';
import { windowTaps } from './conv2d.js';

/**
 * Direct depthwise conv: output texel (pixel r, output channels 4*c4..) sums, over the taps,
 * input values times filter values lane by lane. Output channel co reads input channel
 * co / M and filter [tap, co / M, co % M]. A constant filter is uploaded as [KH*KW, C*M] (the
 * same data), so a tap's weights for the texel are one fetch; with M = 1 so are the inputs.
 * Padded taps multiply 0 (the reference); skipped for a constant, finite filter. `epilogue` turns
 * the accumulator into the output texel (bias and activation of the fused op).
 */
function depthwiseBody(g: ConvGeometry, M: number, constantFilter: boolean, skipPadding: boolean, epilogue: string): string {
  const lanes = (expr: (l: string) => string) => `vec4(${LANES.map(expr).join(', ')})`;
  const x = M === 1 ? 'T0_at(xRow, c4)' : lanes((l) => `T0_at(xRow, ch.${l} >> 2)[ch.${l} & 3]`);
  const w = constantFilter ? 'T1_at(tap, c4)' : lanes((l) => `T1_at(tap * ${g.inC} + ch.${l}, mm.${l} >> 2)[mm.${l} & 3]`);
  // Lanes past the last channel (texel padding) repeat it: in range, and never read as data.
  const setup = `ivec4 co = min(ivec4(c4 * 4) + ivec4(0, 1, 2, 3), ivec4(${g.outC - 1}));
  ivec4 ch = co / ${M}; ivec4 mm = co - ch * ${M};`;
  const tap = `int tap = ky * ${g.kW} + kx;
      acc += (inside ? ${x} : vec4(0.0)) * ${w};`;
  return `${windowTaps(g, skipPadding, setup, tap)}
  outColor = ${epilogue};`;
}


/** depthwise_conv2d and fused_depthwise_conv2d: `bias` names the fused op's bias operand (input T2), if any. */
export function prepareDepthwise(node: Node, ctx: PrepareContext, attrs: Conv2dAttrs, bias: string | undefined, activation: Activation): void {
  const [xName, fName] = node.inputs;
  const filterShape = ctx.graph.value(fName).shape;
  const g = convGeometry(ctx.graph.value(xName).shape, filterShape, attrs, true);
  const filter = ctx.graph.constants.get(fName);
  const w = filter ? ctx.constant(fName, 'taps', [g.kH * g.kW, g.outC], () => filter.data) : ctx.operand(fName);
  const inputs = [ctx.operand(xName), w];
  if (bias !== undefined) inputs.push(ctx.operand(bias));
  const epilogue = epilogueExpr('acc', { bias: bias !== undefined, residual: false, activation });
  const y = ctx.output(node);
  const body = depthwiseBody(g, filterShape[3], filter !== undefined, filter !== undefined && filter.data.every(Number.isFinite), epilogue);
  ctx.draw(fragmentShader(inputs.map((t) => t.layout), y.layout, body), inputs, y);
}

export const depthwiseConv2dKernel: WebGLKernel = {
  op: 'depthwise_conv2d',
  prepare: (node, ctx) => prepareDepthwise(node, ctx, attrsOf(node, depthwiseConv2d), undefined, 'none'),
};
