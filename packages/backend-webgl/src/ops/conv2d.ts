import { attrsOf, conv2d, convGeometry, type Conv2dAttrs, type ConvGeometry, type Node } from '@tessera/core';
import { fragmentShader, LANES } from '../glsl.js';
import type { PrepareContext, WebGLKernel } from '../program.js';
import { drawRowsGemm, epilogueExpr, NO_EPILOGUE, useRows, type GemmEpilogue } from '../gemm.js';
import { gemmBody } from './matmul.js';

/**
 * Direct convolution as an implicit GEMM over the packed layout: output texel (pixel r,
 * out channels 4*c4..) accumulates, for every filter tap inside the image, input texels
 * (4 in-channels) times 4 filter texels. The filter is HWIO, i.e. a [kh*kw*cin, cout] matrix
 * already in the layout the GEMM reads. A 1x1, stride 1, unpadded conv is exactly a GEMM on
 * the same layout and uses the GEMM program.
 * Padded cells are zeros that take part in the products (core's reference): when the filter
 * is a constant with only finite values they contribute exactly 0 and are skipped.
 */
function convBody(g: ConvGeometry, skipPadding: boolean, epilogue: string): string {
  const full = Math.floor(g.inC / 4);
  const rem = g.inC % 4;
  const c4 = Math.ceil(g.inC / 4);
  const tap = (x: string, ci4: string, nLanes: number) => {
    let s = `int kb = kBase + ${ci4} * 4;\n`;
    if (nLanes === 4) s += `acc += ${x}.x * T1_at(kb, c4) + ${x}.y * T1_at(kb + 1, c4) + ${x}.z * T1_at(kb + 2, c4) + ${x}.w * T1_at(kb + 3, c4);`;
    else for (let j = 0; j < nLanes; j++) s += `acc += ${x}.${LANES[j]} * T1_at(kb + ${j}, c4);\n`;
    return s;
  };
  const fetch = (ci4: string) => (skipPadding ? `T0_at(xRow, ${ci4})` : `(inside ? T0_at(xRow, ${ci4}) : vec4(0.0))`);
  const tapBody = `int kBase = (ky * ${g.kW} + kx) * ${g.inC};
      for (int ci4 = 0; ci4 < ${full}; ci4++) {
        vec4 x = ${fetch('ci4')};
        ${tap('x', 'ci4', 4)}
      }
      ${rem ? `{ vec4 x = ${fetch(String(c4 - 1))}; ${tap('x', String(c4 - 1), rem)} }` : ''}`;
  return `${windowTaps(g, skipPadding, '', tapBody)}
  ${epilogue}`;
}

/**
 * GLSL that decodes output pixel r and loops over its window's taps, running `tap` with
 * `int ky, kx, xRow` and `bool inside` set (xRow = 0 at a padded tap, skipped when
 * `skipPadding`) after `vec4 acc = vec4(0.0)` and `setup`. Shared by conv2d and depthwise_conv2d.
 */
export function windowTaps(g: ConvGeometry, skipPadding: boolean, setup: string, tap: string): string {
  return `int ox = r % ${g.outW}; int t = r / ${g.outW}; int oy = t % ${g.outH}; int n = t / ${g.outH};
  int iy0 = oy * ${g.strideH} - ${g.padTop}; int ix0 = ox * ${g.strideW} - ${g.padLeft};
  vec4 acc = vec4(0.0);
  ${setup}
  for (int ky = 0; ky < ${g.kH}; ky++) {
    int iy = iy0 + ky * ${g.dilationH};
    bool insideY = iy >= 0 && iy < ${g.inH};
    ${skipPadding ? 'if (!insideY) continue;' : ''}
    for (int kx = 0; kx < ${g.kW}; kx++) {
      int ix = ix0 + kx * ${g.dilationW};
      bool inside = insideY && ix >= 0 && ix < ${g.inW};
      ${skipPadding ? 'if (!inside) continue;' : ''}
      int xRow = inside ? (n * ${g.inH} + iy) * ${g.inW} + ix : 0;
      ${tap}
    }
  }`;
}

/**
 * conv2d and fused_conv2d (whose attributes extend conv2d's): operands 2 and 3, when `e` has them,
 * are the bias and the residual (the output's shape, read at the output's texel).
 */
export function prepareConv(node: Node, ctx: PrepareContext, attrs: Conv2dAttrs, e: GemmEpilogue): void {
  const [xName, fName] = node.inputs;
  const g = convGeometry(ctx.graph.value(xName).shape, ctx.graph.value(fName).shape, attrs);
  const x = ctx.operand(xName);
  const w = ctx.operand(fName);
  const inputs = [x, w];
  if (e.bias) inputs.push(ctx.operand(node.inputs[2]));
  if (e.residual) inputs.push(ctx.operand(node.inputs[3]));
  const epilogue = `outColor = ${epilogueExpr('acc', e)};`;
  const y = ctx.output(node);
  const pointwise =
    g.kH === 1 && g.kW === 1 && g.strideH === 1 && g.strideW === 1 && g.padTop + g.padBottom + g.padLeft + g.padRight === 0;
  const filter = ctx.graph.constants.get(fName);
  const finite = filter !== undefined && filter.data.every(Number.isFinite);
  if (useRows(y.layout.rows, g.kH * g.kW * g.inC)) {
    drawRowsGemm(ctx, pointwise ? { kind: 'matmul', k: g.inC } : { kind: 'conv', g }, inputs, y, e);
    return;
  }
  const body = pointwise ? gemmBody(g.inC, '0', epilogue) : convBody(g, finite, epilogue);
  ctx.draw(fragmentShader(inputs.map((t) => t.layout), y.layout, body), inputs, y);
}

export const conv2dKernel: WebGLKernel = {
  op: 'conv2d',
  prepare: (node, ctx) => prepareConv(node, ctx, attrsOf(node, conv2d), NO_EPILOGUE),
};
