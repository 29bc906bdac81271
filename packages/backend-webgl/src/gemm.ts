import type { Activation, ConvGeometry } from '@tessera/core';
import { fragmentShader, LANES, mrtShader } from './glsl.js';
import type { PrepareContext, TensorRef } from './program.js';

/**
 * Multi-row GEMM: one fragment computes the output texels of ROWS consecutive rows (pixels)
 * and writes them to ROWS render targets ("parts": part p holds the rows r with r % ROWS == p).
 * Every 4 filter / weight texels fetched serve ROWS rows, so a 4-deep k step costs ROWS + 4
 * fetches for 16 * ROWS multiply-adds (ROWS = 4: 8 fetches per 64, against 5 per 16 for one
 * row per fragment). A merge draw then interleaves the parts into the output's normal layout;
 * it reads one texel per output texel, small next to the K / 4 * (1 + 4 / ROWS) of the GEMM.
 */
export const ROWS = 4;

/** Use the multi-row path when there are enough rows and enough depth to amortize the merge. */
export function useRows(rows: number, k: number): boolean {
  return rows >= 2 * ROWS && k >= 8;
}

/**
 * What follows the product, in this order (core's reference): + the bias texel (input T2), + the
 * residual texel at the output's row (the next input, T3; the output's shape, so its layout), then
 * the activation.
 */
export interface GemmEpilogue {
  readonly bias: boolean;
  readonly residual: boolean;
  readonly activation: Activation;
}

export const NO_EPILOGUE: GemmEpilogue = { bias: false, residual: false, activation: 'none' };

const ACTIVATION_GLSL: Readonly<Record<Activation, string>> = { none: '', relu: 'relu4', relu6: 'relu6_4' };

/** `epilogue(acc)` as GLSL for output row `row` (an int expression). */
export function epilogueExpr(acc: string, e: GemmEpilogue, row = 'r'): string {
  let v = e.bias ? `(${acc} + T2_at(0, c4))` : acc;
  if (e.residual) v = `(${v} + T${e.bias ? 3 : 2}_at(${row}, c4))`;
  const act = ACTIVATION_GLSL[e.activation];
  return act ? `${act}(${v})` : v;
}

function accumulate(p: number, a: string, lanes: number): string {
  if (lanes === 4) return `acc${p} += ${a}.x * b0 + ${a}.y * b1 + ${a}.z * b2 + ${a}.w * b3;`;
  return Array.from({ length: lanes }, (_, j) => `acc${p} += ${a}.${LANES[j]} * b${j};`).join(' ');
}

function fetchB(lanes: number): string {
  return Array.from({ length: lanes }, (_, j) => `vec4 b${j} = T1_at(kb + ${j}, c4);`).join(' ');
}

/** Body of the multi-row GEMM over A (T0, rows x k) and B (T1, k x n, shared by all rows). */
function matmulRowsBody(rows: number, k: number, e: GemmEpilogue): string {
  const full = Math.floor(k / 4);
  const rem = k % 4;
  const R = Array.from({ length: ROWS }, (_, p) => p);
  let s = `int r0 = q * ${ROWS};\n`;
  for (const p of R) s += `  int ra${p} = min(r0 + ${p}, ${rows - 1}); vec4 acc${p} = vec4(0.0);\n`;
  s += `  for (int k4 = 0; k4 < ${full}; k4++) {
    int kb = k4 * 4; ${fetchB(4)}
    ${R.map((p) => `{ vec4 a = T0_at(ra${p}, k4); ${accumulate(p, 'a', 4)} }`).join('\n    ')}
  }\n`;
  if (rem) {
    s += `  { int kb = ${full * 4}; ${fetchB(rem)}
    ${R.map((p) => `{ vec4 a = T0_at(ra${p}, ${full}); ${accumulate(p, 'a', rem)} }`).join('\n    ')}
  }\n`;
  }
  for (const p of R) s += `  o${p} = r0 + ${p} < ${rows} ? ${epilogueExpr(`acc${p}`, e, `ra${p}`)} : vec4(0.0);\n`;
  return s;
}

/** Body of the multi-row direct convolution: ROWS output pixels share every filter fetch. */
function convRowsBody(g: ConvGeometry, rows: number, e: GemmEpilogue): string {
  const full = Math.floor(g.inC / 4);
  const rem = g.inC % 4;
  const R = Array.from({ length: ROWS }, (_, p) => p);
  let s = `int r0 = q * ${ROWS};\n`;
  for (const p of R) {
    s += `  int rp${p} = min(r0 + ${p}, ${rows - 1}); int ox${p} = rp${p} % ${g.outW}; int t${p} = rp${p} / ${g.outW};
  int iy${p} = (t${p} % ${g.outH}) * ${g.strideH} - ${g.padTop}; int ix${p} = ox${p} * ${g.strideW} - ${g.padLeft};
  int base${p} = (t${p} / ${g.outH}) * ${g.inH}; vec4 acc${p} = vec4(0.0);\n`;
  }
  // Padded cells are zeros multiplied by the weights, as in core's reference (0 * Inf = NaN).
  const xAt = (p: number, ci4: string) => `(in${p} ? T0_at(row${p}, ${ci4}) : vec4(0.0))`;
  const taps = R.map((p) => {
    const yy = `int y${p} = iy${p} + ky * ${g.dilationH}; int x${p} = ix${p} + kx * ${g.dilationW};`;
    const inside = `bool in${p} = y${p} >= 0 && y${p} < ${g.inH} && x${p} >= 0 && x${p} < ${g.inW};`;
    const row = `int row${p} = in${p} ? (base${p} + y${p}) * ${g.inW} + x${p} : 0;`;
    return `      ${yy}\n      ${inside}\n      ${row}\n`;
  }).join('');
  const fullStep = R.map((p) => '{ vec4 a = ' + xAt(p, 'ci4') + '; ' + accumulate(p, 'a', 4) + ' }').join('\n        ');
  const remStep = R.map((p) => '{ vec4 a = ' + xAt(p, String(full)) + '; ' + accumulate(p, 'a', rem) + ' }').join('\n        ');
  s += `  for (int ky = 0; ky < ${g.kH}; ky++) {\n    for (int kx = 0; kx < ${g.kW}; kx++) {\n`;
  s += `      int kBase = (ky * ${g.kW} + kx) * ${g.inC};\n` + taps;
  s += `      for (int ci4 = 0; ci4 < ${full}; ci4++) {\n        int kb = kBase + ci4 * 4; ${fetchB(4)}\n        ${fullStep}\n      }\n`;
  if (rem) s += `      { int kb = kBase + ${full * 4}; ${fetchB(rem)}\n        ${remStep}\n      }\n`;
  s += '    }\n  }\n';
  for (const p of R) s += `  o${p} = r0 + ${p} < ${rows} ? ${epilogueExpr(`acc${p}`, e, `rp${p}`)} : vec4(0.0);\n`;
  return s;
}

export type RowsGemm = { kind: 'matmul'; k: number } | { kind: 'conv'; g: ConvGeometry };

/**
 * Draws the multi-row GEMM into ROWS part textures, then merges them into `y`.
 * `inputs`: [A or X, B or filter, bias?, residual?], as `e` says.
 */
export function drawRowsGemm(ctx: PrepareContext, spec: RowsGemm, inputs: readonly TensorRef[], y: TensorRef, e: GemmEpilogue): void {
  const rows = y.layout.rows;
  const partRows = Math.ceil(rows / ROWS);
  const parts = Array.from({ length: ROWS }, () => ctx.temp([partRows, y.layout.cols]));
  const body = spec.kind === 'matmul' ? matmulRowsBody(rows, spec.k, e) : convRowsBody(spec.g, rows, e);
  ctx.draw(mrtShader(inputs.map((t) => t.layout), parts[0].layout, ROWS, body), inputs, parts);
  let merge = `int p = r % ${ROWS}; int q = r / ${ROWS}; vec4 v = T0_at(q, c4);\n`;
  for (let p = 1; p < ROWS; p++) merge += `  if (p == ${p}) v = T${p}_at(q, c4);\n`;
  merge += '  outColor = v;';
  ctx.draw(fragmentShader(parts.map((t) => t.layout), y.layout, merge), parts, y);
}
