import type { SymbolicValue } from '@tessera/core';
import { DataType } from '../proto/proto.js';
import { TO_NCHW, TO_NHWC, isIdentity, nhwcAxis, permute, transposeData } from '../layout.js';
import type { OnnxTensor } from '../tensors.js';
import { foldConcat, foldGather, foldSlice, reshaped } from './fold.js';
import type { Importer, NodeImport } from './node.js';

/*
 * Shape ops. On constants they fold at import (shape arithmetic on static shapes); on values
 * they become reshape / transpose / concat / pad / slice nodes.
 */

const product = (dims: readonly number[]): number => dims.reduce((p, d) => p * d, 1);

/**
 * A value as row-major data in ONNX's order, without a transpose where possible: a 4-D value
 * held in NHWC has the same row-major data as its NCHW form when C = 1 or H * W = 1.
 */
function rowMajor(n: NodeImport, x: string): SymbolicValue {
  const { ctx } = n;
  const shape = ctx.shape(x);
  const e = ctx.entry(x);
  if (e.kind === 'value' && e.asis === undefined && shape.length === 4 && (shape[1] === 1 || shape[2] * shape[3] === 1)) return e.nhwc!;
  return ctx.asis(x);
}

/** `x` given a new shape (already resolved: positive dimensions). */
function reshapeTo(n: NodeImport, x: string, shape: readonly number[]): void {
  const { ctx } = n;
  const c = ctx.constant(x);
  if (product(shape) !== product(ctx.shape(x))) n.fail(`cannot reshape ${JSON.stringify(ctx.shape(x))} to ${JSON.stringify(shape)}: element counts differ`);
  if (c) return ctx.setConst(n.output, reshaped(c, shape));
  if (shape.length === 0) n.fail('a scalar result is not supported (Tessera values have rank >= 1)');
  ctx.setValue(n.output, ctx.op('reshape', [rowMajor(n, x)], { shape: [...shape] }, n.name), 'asis');
}

/** ONNX Reshape's target: 0 copies the input's dimension (unless allowzero), one -1 is inferred. */
function resolveShape(n: NodeImport, input: readonly number[], target: readonly number[]): number[] {
  const allowZero = n.attrs.int('allowzero', 0) === 1;
  const dims = target.map((d, i) => {
    if (d === 0 && !allowZero) {
      if (i >= input.length) n.fail(`shape ${JSON.stringify(target)} copies dimension ${i}, which the input ${JSON.stringify(input)} lacks`);
      return input[i];
    }
    if (d === 0) n.fail('a zero dimension (allowzero) is not supported');
    return d;
  });
  const unknown = dims.indexOf(-1);
  if (dims.filter((d) => d === -1).length > 1 || dims.some((d) => d < -1)) n.fail(`shape ${JSON.stringify(target)} may hold one -1 and otherwise non-negative sizes`);
  if (unknown >= 0) {
    const known = product(dims.filter((d) => d !== -1));
    const total = product(input);
    if (known === 0 || total % known !== 0) n.fail(`cannot infer -1 in ${JSON.stringify(target)} for ${total} elements`);
    dims[unknown] = total / known;
  }
  return dims;
}

const reshape: Importer = (n) => {
  const x = n.required(0, 'data');
  const target = n.opset >= 5 ? Array.from(n.constant(1, 'shape').data) : (n.attrs.ints('shape') ?? n.fail('shape is required'));
  reshapeTo(n, x, resolveShape(n, n.ctx.shape(x), target));
};

const flatten: Importer = (n) => {
  const x = n.required(0, 'input');
  const shape = n.ctx.shape(x);
  const given = n.attrs.int('axis', 1);
  const axis = given < 0 ? given + shape.length : given;
  if (axis < 0 || axis > shape.length) n.fail(`axis ${given} is out of range for rank ${shape.length}`);
  reshapeTo(n, x, [product(shape.slice(0, axis)), product(shape.slice(axis))]);
};

const unsqueeze: Importer = (n) => {
  const x = n.required(0, 'data');
  const shape = n.ctx.shape(x);
  const axesGiven = n.ints(1, 'axes', 'axes') ?? n.fail('axes are required');
  const rank = shape.length + axesGiven.length;
  const axes = new Set(axesGiven.map((a) => (a < 0 ? a + rank : a)));
  const out: number[] = [];
  for (let i = 0, k = 0; i < rank; i++) out.push(axes.has(i) ? 1 : shape[k++]);
  reshapeTo(n, x, out);
};

const squeeze: Importer = (n) => {
  const x = n.required(0, 'data');
  const shape = n.ctx.shape(x);
  const given = n.ints(1, 'axes', 'axes');
  const axes = new Set((given ?? shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)).map((a) => (a < 0 ? a + shape.length : a)));
  for (const a of axes) if (shape[a] !== 1) n.fail(`cannot squeeze axis ${a} of ${JSON.stringify(shape)}: it is not 1`);
  reshapeTo(n, x, shape.filter((_, i) => !axes.has(i)));
};

const transpose: Importer = (n) => {
  const { ctx } = n;
  const x = n.required(0, 'data');
  const shape = ctx.shape(x);
  const perm = n.attrs.ints('perm') ?? [...shape.keys()].reverse();
  const c = ctx.constant(x);
  if (c) return ctx.setConst(n.output, { shape: permute(c.shape, perm), kind: c.kind, data: transposeData(c.data, c.shape, perm) });
  if (shape.length === 4 && ctx.heldNhwc(x)) {
    // out = transpose(nchw, perm) and nchw = transpose(nhwc, TO_NCHW): one permutation of the NHWC value.
    const composed = perm.map((p) => TO_NCHW[p]);
    const nhwc = ctx.nhwc(x);
    if (isIdentity(composed)) return ctx.set(n.output, { kind: 'value', shape: nhwc.shape, asis: nhwc });
    return ctx.setValue(n.output, ctx.transpose(nhwc, composed, n.name), 'asis');
  }
  ctx.setValue(n.output, ctx.transpose(ctx.asis(x), perm, n.name), 'asis');
};

const concat: Importer = (n) => {
  const { ctx } = n;
  const names = n.inputs.filter((x) => x !== '');
  const rank = ctx.shape(names[0]).length;
  const given = n.attrs.int('axis', n.opset < 4 ? 1 : Number.NaN);
  if (Number.isNaN(given)) n.fail('axis is required');
  const axis = given < 0 ? given + rank : given;
  if (axis < 0 || axis >= rank) n.fail(`axis ${given} is out of range for rank ${rank}`);
  const consts = names.map((x) => ctx.constant(x));
  if (consts.every((c) => c !== undefined)) return ctx.setConst(n.output, foldConcat(consts as OnnxTensor[], axis));
  const nhwc = rank === 4 && names.some((x) => ctx.heldNhwc(x));
  const parts = names.map((x) => (nhwc ? ctx.nhwc(x) : ctx.asis(x)));
  ctx.setValue(n.output, ctx.op('concat', parts, { axis: nhwc ? nhwcAxis(axis) : axis }, n.name), nhwc ? 'nhwc' : 'asis');
};

const pad: Importer = (n) => {
  const { ctx } = n;
  const mode = n.attrs.string('mode', 'constant');
  if (mode !== 'constant') n.fail(`mode '${mode}' is not supported (constant only)`);
  if (n.input(3) !== undefined) n.fail('the axes input is not supported');
  const x = n.required(0, 'data');
  const rank = ctx.shape(x).length;
  const pads = n.opset >= 11 ? Array.from(n.constant(1, 'pads').data) : (n.attrs.ints('pads') ?? n.fail('pads are required'));
  if (pads.length !== 2 * rank) n.fail(`pads has ${pads.length} entries for rank ${rank} (needs ${2 * rank})`);
  if (pads.some((p) => p < 0)) n.fail(`negative pads ${JSON.stringify(pads)} (cropping) are not supported`);
  const value = n.opset >= 11 ? (n.optionalConstant(2, 'constant_value')?.data[0] ?? 0) : n.attrs.float('value', 0);
  const pairs = Array.from({ length: rank }, (_, i) => [pads[i], pads[i + rank]]);
  const nhwc = rank === 4 && ctx.heldNhwc(x);
  const attrs = { paddings: nhwc ? permute(pairs, TO_NHWC) : pairs, value: Math.fround(value) };
  ctx.setValue(n.output, ctx.op('pad', [nhwc ? ctx.nhwc(x) : ctx.asis(x)], attrs, n.name), nhwc ? 'nhwc' : 'asis');
};

const constant: Importer = (n) => {
  const names = ['value', 'value_float', 'value_floats', 'value_int', 'value_ints'];
  const found = names.find((a) => n.attrs.has(a)) ?? n.fail(`needs one of the attributes ${names.join(', ')} (${n.attrs.names().join(', ') || 'none'} given)`);
  n.ctx.setConst(n.output, n.attrs.tensor(found)!);
};

const constantOfShape: Importer = (n) => {
  const shape = Array.from(n.constant(0, 'shape').data);
  const value = n.attrs.tensor('value') ?? { shape: [1], kind: 'float' as const, data: Float32Array.of(0) };
  const data = new (value.data.constructor as new (k: number) => Float32Array | Float64Array)(product(shape)).fill(value.data[0]);
  n.ctx.setConst(n.output, { shape, kind: value.kind, data });
};

const shapeOp: Importer = (n) => {
  const shape = n.ctx.shape(n.required(0, 'data'));
  const clampAxis = (a: number): number => Math.min(Math.max(a < 0 ? a + shape.length : a, 0), shape.length);
  const dims = shape.slice(clampAxis(n.attrs.int('start', 0)), clampAxis(n.attrs.int('end', shape.length)));
  n.ctx.setConst(n.output, { shape: [dims.length], kind: 'int', data: Float64Array.from(dims) });
};

const gather: Importer = (n) => {
  const data = n.constant(0, 'data');
  const indices = n.constant(1, 'indices');
  const given = n.attrs.int('axis', 0);
  const axis = given < 0 ? given + data.shape.length : given;
  try {
    n.ctx.setConst(n.output, foldGather(data, indices, axis));
  } catch (e) {
    n.fail((e as Error).message);
  }
};

const cast: Importer = (n) => {
  const { ctx } = n;
  const x = n.required(0, 'input');
  const to = n.attrs.int('to', 0);
  const c = ctx.constant(x);
  const toFloat = to === DataType.FLOAT || to === DataType.DOUBLE;
  if (c) {
    const data = toFloat ? Float32Array.from(c.data) : Float64Array.from(c.data, Math.trunc);
    return ctx.setConst(n.output, { shape: c.shape, kind: toFloat ? 'float' : 'int', data });
  }
  if (to !== DataType.FLOAT) n.fail(`a cast of a run-time value to data type ${to} is not supported (Tessera values are float32)`);
  ctx.set(n.output, ctx.entry(x));
};

/** Slice with positive steps: folded on constants, a slice node on values. */
const sliceOp: Importer = (n) => {
  const { ctx } = n;
  const x = n.required(0, 'data');
  const shape = ctx.shape(x);
  const rank = shape.length;
  const starts = n.opset >= 10 ? Array.from(n.constant(1, 'starts').data) : (n.attrs.ints('starts') ?? n.fail('starts are required'));
  const ends = n.opset >= 10 ? Array.from(n.constant(2, 'ends').data) : (n.attrs.ints('ends') ?? n.fail('ends are required'));
  const axes = (n.opset >= 10 ? n.ints(3, 'axes', 'axes') : n.attrs.ints('axes')) ?? starts.map((_, i) => i);
  const steps = (n.opset >= 10 ? n.ints(4, 'steps', 'steps') : undefined) ?? starts.map(() => 1);
  const begin = new Array<number>(rank).fill(0);
  const size = [...shape];
  const step = new Array<number>(rank).fill(1);
  axes.forEach((given, k) => {
    const a = given < 0 ? given + rank : given;
    const d = shape[a];
    if (steps[k] < 1) n.fail(`step ${steps[k]} is not supported (positive steps only)`);
    const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + d : v, 0), d);
    const b = clamp(starts[k]);
    const e = clamp(ends[k]);
    const count = Math.ceil((e - b) / steps[k]);
    if (count < 1) n.fail(`the slice of axis ${a} is empty (Tessera values have no zero-size dimension)`);
    begin[a] = b;
    size[a] = count;
    step[a] = steps[k];
  });
  const c = ctx.constant(x);
  if (c) return ctx.setConst(n.output, foldSlice(c, begin, size, step));
  const nhwc = rank === 4 && ctx.heldNhwc(x);
  const attrs = nhwc ? { begin: permute(begin, TO_NHWC), size: permute(size, TO_NHWC), strides: permute(step, TO_NHWC) } : { begin, size, strides: step };
  ctx.setValue(n.output, ctx.op('slice', [nhwc ? ctx.nhwc(x) : ctx.asis(x)], attrs, n.name), nhwc ? 'nhwc' : 'asis');
};

export const SHAPE_IMPORTERS: Readonly<Record<string, Importer>> = {
  Reshape: reshape,
  Flatten: flatten,
  Unsqueeze: unsqueeze,
  Squeeze: squeeze,
  Transpose: transpose,
  Concat: concat,
  Pad: pad,
  Constant: constant,
  ConstantOfShape: constantOfShape,
  Shape: shapeOp,
  Gather: gather,
  Cast: cast,
  Slice: sliceOp,
};
