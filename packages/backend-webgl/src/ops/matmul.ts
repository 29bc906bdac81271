import { attrsOf, matmul, matmulGeometry, type MatmulAttrs, type MatmulGeometry, type Node } from '@tessera/core';
import { fragmentShader, LANES } from '../glsl.js';
import type { PrepareContext, TensorRef, WebGLKernel } from '../program.js';
import { drawRowsGemm, epilogueExpr, NO_EPILOGUE, useRows, type GemmEpilogue } from '../gemm.js';

/**
 * The packed GEMM body shared by matmul, fused_matmul and 1x1 convolutions: output texel
 * (row r, columns 4*c4..4*c4+3) = sum over k of A[r, k] * B[bRow0 + k, 4*c4..]. A texel of A
 * holds 4 consecutive k, a texel of B 4 consecutive output columns: 5 fetches per 16 MACs.
 * Lanes of A past K are never used (the remainder is unrolled), so padding cannot leak in.
 */
export function gemmBody(k: number, bRow0: string, epilogue: string): string {
  const full = Math.floor(k / 4);
  const rem = k % 4;
  let tail = '';
  if (rem) {
    tail = `{ vec4 a = T0_at(r, ${full}); int kb = bRow0 + ${full * 4};\n`;
    for (let j = 0; j < rem; j++) tail += `    acc += a.${LANES[j]} * T1_at(kb + ${j}, c4);\n`;
    tail += '  }';
  }
  return `vec4 acc = vec4(0.0);
  int bRow0 = ${bRow0};
  for (int k4 = 0; k4 < ${full}; k4++) {
    vec4 a = T0_at(r, k4);
    int kb = bRow0 + k4 * 4;
    acc += a.x * T1_at(kb, c4) + a.y * T1_at(kb + 1, c4) + a.z * T1_at(kb + 2, c4) + a.w * T1_at(kb + 3, c4);
  }
  ${tail}
  ${epilogue}`;
}

/** Transposes the last two axes of a [batch, R, C] tensor (rank 2: batch 1) into a temporary. */
function transposeDraw(ctx: PrepareContext, x: TensorRef, batch: number, rows: number, cols: number): TensorRef {
  const shape = batch > 1 ? [batch, cols, rows] : [cols, rows];
  const t = ctx.temp(shape);
  // out row = b * cols + i (i < cols), lane j: column c = 4*c4 + j < rows -> X[b, c, i]
  let body = `int b = r / ${cols}; int i = r - b * ${cols}; vec4 v = vec4(0.0);\n`;
  for (let j = 0; j < 4; j++) body += `  if (4 * c4 + ${j} < ${rows}) v.${LANES[j]} = T0_at(b * ${rows} + 4 * c4 + ${j}, i >> 2)[i & 3];\n`;
  body += '  outColor = v;';
  ctx.draw(fragmentShader([x.layout], t.layout, body), [x], t);
  return t;
}

function transposeData(data: Float32Array, batch: number, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < batch; b++)
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[b * rows * cols + j * rows + i] = data[b * rows * cols + i * cols + j];
  return out;
}

/** An operand in canonical (untransposed) form: constants transposed at upload, activations by a draw. */
function canonical(ctx: PrepareContext, value: string, transpose: boolean, batch: number): TensorRef {
  if (!transpose) return ctx.operand(value);
  const shape = ctx.graph.value(value).shape;
  const [rows, cols] = shape.slice(-2);
  const c = ctx.graph.constants.get(value);
  const outShape = shape.length === 3 ? [shape[0], cols, rows] : [cols, rows];
  if (c) return ctx.constant(value, 'transposed', outShape, () => transposeData(c.data, batch, rows, cols));
  return transposeDraw(ctx, ctx.operand(value), batch, rows, cols);
}

/** matmul and fused_matmul (whose attributes extend matmul's): operand 2, when `e` has a bias, is the bias. */
export function prepareMatmul(node: Node, ctx: PrepareContext, attrs: MatmulAttrs, e: GemmEpilogue): void {
  const [aName, bName] = node.inputs;
  const g: MatmulGeometry = matmulGeometry(ctx.graph.value(aName).shape, ctx.graph.value(bName).shape, attrs);
  const a = canonical(ctx, aName, g.transposeA, g.batch);
  const b = canonical(ctx, bName, g.transposeB, g.sharedB ? 1 : g.batch);
  const inputs = [a, b];
  if (e.bias) inputs.push(ctx.operand(node.inputs[2]));
  const epilogue = `outColor = ${epilogueExpr('acc', e)};`;
  const y = ctx.output(node);
  if ((g.batch === 1 || g.sharedB) && useRows(y.layout.rows, g.k)) {
    drawRowsGemm(ctx, { kind: 'matmul', k: g.k }, inputs, y, e);
    return;
  }
  const bRow0 = g.sharedB || g.batch === 1 ? '0' : `(r / ${g.m}) * ${g.k}`;
  ctx.draw(fragmentShader(inputs.map((t) => t.layout), y.layout, gemmBody(g.k, bRow0, epilogue)), inputs, y);
}

export const matmulKernel: WebGLKernel = {
  op: 'matmul',
  prepare: (node, ctx) => prepareMatmul(node, ctx, attrsOf(node, matmul), NO_EPILOGUE),
};
