import { broadcastStrides, type Node, type Shape } from '@tessera/core';
import { fragmentShader, rowDecomposition } from '../glsl.js';
import type { PrepareContext } from '../program.js';

/**
 * How an operand of `shape`, bound to `sampler`, is read at output texel (r, c4) of a
 * broadcasting op: at row r where it has the output's rows, 0 where it has one row, else at the
 * `int` named `row` that the shared decomposition computes from `rowStrides`; its texel c4, or
 * its one channel spread over the 4 lanes where its last dimension is broadcast.
 */
function operandRead(shape: Shape, out: Shape, sampler: string, row: string): { rowStrides: number[] | null; expr: string } {
  const outer = out.slice(0, -1);
  const aligned = [...new Array<number>(Math.max(out.length - shape.length, 0)).fill(1), ...shape];
  const lastBroadcast = out.length > 0 && aligned[out.length - 1] === 1 && out[out.length - 1] > 1;
  const sameRows = outer.every((d, i) => aligned[i] === d);
  const oneRow = outer.every((_, i) => aligned[i] === 1);
  // Row strides of the operand on the output's outer axes (0 where it is broadcast).
  const elementStrides = broadcastStrides(shape, out);
  const cols = aligned.length ? aligned[aligned.length - 1] : 1;
  const rowStrides = sameRows || oneRow ? null : elementStrides.slice(0, -1).map((s) => s / cols);
  const r = sameRows ? 'r' : oneRow ? '0' : row;
  return { rowStrides, expr: lastBroadcast ? `vec4(${sampler}_at(${r}, 0).x)` : `${sampler}_at(${r}, c4)` };
}

/** a op b with NumPy broadcasting: each operand's texel at its own row, a broadcast channel spread over the lanes. */
export function prepareBinary(node: Node, ctx: PrepareContext, op: '+' | '*'): void {
  const [aName, bName] = node.inputs;
  const out = node.output.shape;
  const a = ctx.operand(aName);
  const b = ctx.operand(bName);
  const y = ctx.output(node);
  const ra = operandRead(ctx.graph.value(aName).shape, out, 'T0', 'ra');
  const rb = operandRead(ctx.graph.value(bName).shape, out, 'T1', 'rb');
  const rows = [ra, rb].map((o, k) => ({ name: ['ra', 'rb'][k], strides: o.rowStrides })).filter((o) => o.strides !== null);
  const decompose = rows.length
    ? rowDecomposition('r', out.slice(0, -1), rows.map((o) => o.name), rows.map((o) => o.strides!))
    : '';
  const body = `${decompose}  outColor = ${ra.expr} ${op} ${rb.expr};`;
  ctx.draw(fragmentShader([a.layout, b.layout], y.layout, body), [a, b], y);
}

