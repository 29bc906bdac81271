import { type SymbolicValue } from '@tessera/core';
import { TO_NHWC, nhwcAxis, permute, transposeData } from '../layout.js';
import type { OnnxTensor } from '../tensors.js';
import { foldBinary } from './fold.js';
import type { Importer, NodeImport } from './node.js';

/*
 * Element-wise ops, products, normalizations. A 4-D operand already held in NHWC stays there
 * (constants are permuted to meet it); anything else runs in ONNX's order.
 */

/** A constant as a rank-4 NCHW tensor (led by 1s), permuted to NHWC. */
function constantNhwc(t: OnnxTensor): OnnxTensor {
  const shape4 = [...new Array<number>(4 - t.shape.length).fill(1), ...t.shape];
  return { shape: permute(shape4, TO_NHWC), kind: t.kind, data: transposeData(t.data, shape4, TO_NHWC) };
}

/** Both operands of a broadcasting op, in one layout: NHWC when a 4-D operand is held so and the other allows it. */
function operands(n: NodeImport, a: string, b: string): { a: SymbolicValue; b: SymbolicValue; form: 'asis' | 'nhwc' } {
  const { ctx } = n;
  const fits = (x: string): boolean => ctx.constant(x) !== undefined ? ctx.shape(x).length <= 4 : ctx.shape(x).length === 4;
  const held = (x: string): boolean => ctx.shape(x).length === 4 && ctx.heldNhwc(x);
  if ((held(a) || held(b)) && fits(a) && fits(b)) {
    const side = (x: string): SymbolicValue => {
      const c = ctx.constant(x);
      if (!c) return ctx.nhwc(x);
      const t = constantNhwc(c);
      return ctx.floatConstant(`${x}/nhwc`, t.shape, t.data);
    };
    return { a: side(a), b: side(b), form: 'nhwc' };
  }
  return { a: ctx.asis(a), b: ctx.asis(b), form: 'asis' };
}

const FOLD: Readonly<Record<string, (x: number, y: number) => number>> = {
  Add: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Mul: (x, y) => x * y,
  Div: (x, y) => x / y,
};

/** Add, Sub, Mul, Div: folded when both are constants; Add / Mul (and Sub of a constant) as Tessera nodes. */
const binary: Importer = (n) => {
  const { ctx } = n;
  const a = n.required(0, 'A');
  const b = n.required(1, 'B');
  const ca = ctx.constant(a);
  const cb = ctx.constant(b);
  if (ca && cb) return ctx.setConst(n.output, foldBinary(ca, cb, FOLD[n.op]));
  const op = n.op === 'Mul' ? 'mul' : 'add';
  let bName = b;
  if (n.op === 'Sub' && cb) {
    // a - c is a + (-c) exactly (negation is exact).
    bName = `${b}/negated`;
    ctx.setConst(bName, { ...cb, data: cb.data.map((v) => -v) as typeof cb.data });
  } else if (n.op === 'Sub' || n.op === 'Div') {
    n.fail(`${n.op} of values computed at run time is not supported (only folded on constants${n.op === 'Sub' ? ', or a constant subtrahend' : ''})`);
  }
  // A constant per-channel (last axis) addend is a bias: bias_add, which the fusion passes fold into a product.
  const [v, c] = ctx.constant(a) ? [bName, ctx.constant(a)] : [a, ctx.constant(bName)];
  if (op === 'add' && c) {
    const held = ctx.shape(v).length === 4 && ctx.heldNhwc(v) && c.shape.length <= 4;
    const value = held ? ctx.nhwc(v) : ctx.asis(v);
    const channels = value.shape[value.shape.length - 1];
    const dims = held ? constantNhwc(c).shape : c.shape;
    const perChannel = dims.length >= 1 && dims.length <= value.shape.length && dims[dims.length - 1] === channels && dims.slice(0, -1).every((d) => d === 1);
    // All dims but the channels are 1, so the data is the channel vector in either layout.
    if (perChannel) return ctx.setValue(n.output, ctx.op('bias_add', [value, ctx.floatConstant(`${n.name}/bias`, [channels], c.data)], {}, n.name), held ? 'nhwc' : 'asis');
  }
  const { a: x, b: y, form } = operands(n, a, bName);
  ctx.setValue(n.output, ctx.op(op, [x, y], {}, n.name), form);
};

/** Sum of one or more operands: a chain of adds. */
const sum: Importer = (n) => {
  const { ctx } = n;
  const names = n.inputs.filter((x) => x !== '');
  if (names.length === 0) n.fail('has no inputs');
  let acc = names[0];
  names.slice(1).forEach((next, k) => {
    const out = k === names.length - 2 ? n.output : `${n.output}/partial${k}`;
    const { a, b, form } = operands(n, acc, next);
    ctx.setValue(out, ctx.op('add', [a, b], {}, k === names.length - 2 ? n.name : `${n.name}/${k}`), form);
    acc = out;
  });
  if (names.length === 1) ctx.set(n.output, ctx.entry(names[0]));
};

/** An op applied in whichever layout the operand is held. */
function unary(n: NodeImport, op: 'relu' | 'relu6'): void {
  const { ctx } = n;
  const x = n.required(0, 'X');
  const nhwc = ctx.shape(x).length === 4 && ctx.heldNhwc(x);
  ctx.setValue(n.output, ctx.op(op, [nhwc ? ctx.nhwc(x) : ctx.asis(x)], {}, n.name), nhwc ? 'nhwc' : 'asis');
}

const relu: Importer = (n) => unary(n, 'relu');

/** Clip(0, 6) is relu6 and Clip(0, none) relu; other bounds have no exact Tessera op. */
const clip: Importer = (n) => {
  const scalar = (i: number, attr: string, fallback: number): number => {
    if (n.opset < 11) return n.attrs.float(attr, fallback);
    const t = n.optionalConstant(i, attr);
    if (t && t.data.length !== 1) n.fail(`${attr} must be a scalar`);
    return t ? t.data[0] : fallback;
  };
  const min = scalar(1, 'min', -Infinity);
  const max = scalar(2, 'max', Infinity);
  if (min === 0 && max === 6) return unary(n, 'relu6');
  if (min === 0 && max === Infinity) return unary(n, 'relu');
  n.fail(`Clip(${min}, ${max}) is not supported: only Clip(0, 6) (relu6) and Clip(0) (relu)`);
};

const identity: Importer = (n) => {
  n.onlyFirstOutput(n.ctx.usedNames);
  n.ctx.set(n.output, n.ctx.entry(n.required(0, 'input')));
};

const dropout: Importer = (n) => {
  if (n.opset >= 12 && n.input(2) !== undefined) {
    const training = n.constant(2, 'training_mode');
    if (training.data[0] !== 0) n.fail('training_mode must be false at inference');
  }
  identity(n);
};

const batchNormalization: Importer = (n) => {
  const { ctx } = n;
  n.onlyFirstOutput(ctx.usedNames);
  if (n.attrs.int('training_mode', 0) !== 0) n.fail('training_mode 1 is not supported (inference only)');
  if (n.opset < 7 && n.attrs.has('is_test') && n.attrs.int('is_test', 0) === 0) n.fail('is_test 0 (training) is not supported');
  const x = n.required(0, 'X');
  const rank = ctx.shape(x).length;
  if (rank < 2) n.fail(`X of rank ${rank}: needs rank >= 2 (channels on axis 1)`);
  const epsilon = Math.fround(n.attrs.float('epsilon', 1e-5));
  // Tessera's operand order: x, mean, variance, offset (B), scale; its channels are the last axis.
  const [mean, variance, offset, scale] = [3, 4, 2, 1].map((i) => ctx.asis(n.required(i, ['', 'scale', 'B', 'mean', 'var'][i])));
  const bn = (input: SymbolicValue, name: string) => ctx.g.batchNorm(input, mean, variance, offset, scale, { epsilon, name: ctx.fresh(name) });
  if (rank === 4 && (ctx.heldNhwc(x) || ctx.constant(x))) return ctx.setValue(n.output, bn(ctx.nhwc(x), n.name), 'nhwc');
  if (rank === 2) return ctx.setValue(n.output, bn(ctx.asis(x), n.name), 'asis');
  // Channels moved last and back.
  const perm = [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
  const y = bn(ctx.transpose(ctx.asis(x), perm, `${n.name}/channels_last`), `${n.name}/bn`);
  ctx.setValue(n.output, ctx.transpose(y, perm.map((_, i) => perm.indexOf(i)), n.name), 'asis');
};

/** Softmax over one axis: by opset 13 along `axis` (default -1), before it over the flattened trailing axes from `axis` (default 1). */
const softmax: Importer = (n) => {
  const { ctx } = n;
  const x = n.required(0, 'input');
  const shape = ctx.shape(x);
  const rank = shape.length;
  const given = n.attrs.int('axis', n.opset >= 13 ? -1 : 1);
  const axis = given < 0 ? given + rank : given;
  if (axis < 0 || axis >= rank) n.fail(`axis ${given} is out of range for rank ${rank}`);
  if (axis === rank - 1) return ctx.setValue(n.output, ctx.op('softmax', [ctx.asis(x)], {}, n.name), 'asis');
  if (n.opset >= 13) {
    // Over the channels of a value held in NHWC: NHWC's last axis.
    if (rank === 4 && axis === 1 && ctx.heldNhwc(x)) return ctx.setValue(n.output, ctx.op('softmax', [ctx.nhwc(x)], {}, n.name), 'nhwc');
    // Another axis: move it last and back.
    const perm = [...Array(rank).keys()].filter((a) => a !== axis).concat(axis);
    const moved = ctx.transpose(ctx.asis(x), perm, `${n.name}/axis_last`);
    const y = ctx.op('softmax', [moved], {}, `${n.name}/softmax`);
    const back = perm.map((_, i) => perm.indexOf(i));
    return ctx.setValue(n.output, ctx.transpose(y, back, n.name), 'asis');
  }
  // Before opset 13: the input flattened to 2-D at `axis`.
  const outer = shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const inner = shape.slice(axis).reduce((p, d) => p * d, 1);
  const flat = ctx.op('reshape', [ctx.asis(x)], { shape: [outer, inner] }, `${n.name}/flatten`);
  const y = ctx.op('softmax', [flat], {}, `${n.name}/softmax`);
  ctx.setValue(n.output, ctx.op('reshape', [y], { shape: [...shape] }, n.name), 'asis');
};

/** Scales a constant by a float32 factor, as the product is rounded once in float32. */
function scaled(t: OnnxTensor, factor: number): Float32Array {
  return Float32Array.from(t.data, (v) => v * factor);
}

/** Y = alpha op(A) op(B) + beta C, alpha and beta folded into whichever operand is a constant. */
const gemm: Importer = (n) => {
  const { ctx } = n;
  const alpha = n.attrs.float('alpha', 1);
  const beta = n.attrs.float('beta', 1);
  const transposeA = n.attrs.int('transA', 0) === 1;
  const transposeB = n.attrs.int('transB', 0) === 1;
  const a = n.required(0, 'A');
  const b = n.required(1, 'B');
  if (ctx.shape(a).length !== 2 || ctx.shape(b).length !== 2) n.fail(`A ${JSON.stringify(ctx.shape(a))} and B ${JSON.stringify(ctx.shape(b))} must be 2-D`);
  const cb = ctx.constant(b);
  const ca = ctx.constant(a);
  const bv = cb && alpha !== 1 ? ctx.floatConstant(`${b}/alpha`, cb.shape, scaled(cb, alpha)) : ctx.asis(b);
  const av = !cb && ca && alpha !== 1 ? ctx.floatConstant(`${a}/alpha`, ca.shape, scaled(ca, alpha)) : ctx.asis(a);
  const folded = alpha === 1 || cb !== undefined || ca !== undefined;
  const c = n.input(2);
  let y = ctx.op('matmul', [av, bv], { transposeA, transposeB }, folded && !c ? n.name : `${n.name}/matmul`);
  if (!folded) y = ctx.op('mul', [y, ctx.floatConstant(`${n.name}/alpha`, [], [alpha])], {}, c ? `${n.name}/alpha` : n.name);
  if (c !== undefined && beta !== 0) {
    const cc = ctx.constant(c);
    const cols = y.shape[1];
    let bias: SymbolicValue;
    if (cc) {
      const data = beta === 1 ? cc.data : scaled(cc, beta);
      // A bias of N (or [1, N]) is a bias_add; another shape broadcasts with add.
      if (cc.shape.length >= 1 && cc.shape[cc.shape.length - 1] === cols && cc.shape.slice(0, -1).every((d) => d === 1)) {
        bias = ctx.floatConstant(`${c}/bias`, [cols], data);
        return ctx.setValue(n.output, ctx.op('bias_add', [y, bias], {}, n.name), 'asis');
      }
      bias = ctx.floatConstant(`${c}/beta`, cc.shape, data);
    } else {
      bias = beta === 1 ? ctx.asis(c) : ctx.op('mul', [ctx.asis(c), ctx.floatConstant(`${n.name}/beta`, [], [beta])], {}, `${n.name}/beta`);
    }
    return ctx.setValue(n.output, ctx.op('add', [y, bias], {}, n.name), 'asis');
  }
  ctx.setValue(n.output, y, 'asis');
};

/** MatMul of rank-2 operands, or rank 3 by rank 2 / 3 with the same batch (Tessera's matmul); 1-D operands as rows / columns. */
const matMul: Importer = (n) => {
  const { ctx } = n;
  const a = n.required(0, 'A');
  const b = n.required(1, 'B');
  const sa = ctx.shape(a);
  const sb = ctx.shape(b);
  const ok = (sa.length === 2 && sb.length === 2) || (sa.length === 3 && sb.length === 2) || (sa.length === 3 && sb.length === 3 && sa[0] === sb[0]);
  if (sa.length === 1 || sb.length === 1) {
    if (sa.length > 2 || sb.length > 2) n.fail(`A ${JSON.stringify(sa)} by B ${JSON.stringify(sb)}: a 1-D operand only with a 1-D or 2-D one`);
    const av = sa.length === 1 ? ctx.op('reshape', [ctx.asis(a)], { shape: [1, sa[0]] }, `${n.name}/a_row`) : ctx.asis(a);
    const bv = sb.length === 1 ? ctx.op('reshape', [ctx.asis(b)], { shape: [sb[0], 1] }, `${n.name}/b_column`) : ctx.asis(b);
    const y = ctx.op('matmul', [av, bv], {}, `${n.name}/matmul`);
    const shape = [...(sa.length === 2 ? [sa[0]] : []), ...(sb.length === 2 ? [sb[1]] : [])];
    if (shape.length === 0) n.fail('a 1-D by 1-D product is a scalar, which Tessera values cannot be');
    return ctx.setValue(n.output, ctx.op('reshape', [y], { shape }, n.name), 'asis');
  }
  if (!ok) n.fail(`A ${JSON.stringify(sa)} by B ${JSON.stringify(sb)}: Tessera's matmul takes rank 2 by 2, 3 by 2 and 3 by 3 with equal batches`);
  ctx.setValue(n.output, ctx.op('matmul', [ctx.asis(a), ctx.asis(b)], {}, n.name), 'asis');
};

/** ReduceMean: axes by attribute (input from opset 18), keepdims. */
const reduceMean: Importer = (n) => {
  const { ctx } = n;
  const x = n.required(0, 'data');
  const rank = ctx.shape(x).length;
  const keepdims = n.attrs.int('keepdims', 1) === 1;
  let axes = (n.opset >= 18 ? n.ints(1, 'axes', 'axes') : n.attrs.ints('axes')) ?? [...Array(rank).keys()];
  if (axes.length === 0 && n.attrs.int('noop_with_empty_axes', 0) === 0) axes = [...Array(rank).keys()];
  axes = axes.map((a) => (a < 0 ? a + rank : a));
  if (rank === 4 && keepdims && ctx.heldNhwc(x)) {
    return ctx.setValue(n.output, ctx.op('mean', [ctx.nhwc(x)], { axes: axes.map(nhwcAxis), keepdims }, n.name), 'nhwc');
  }
  ctx.setValue(n.output, ctx.op('mean', [ctx.asis(x)], { axes, keepdims }, n.name), 'asis');
};

export const MATH_IMPORTERS: Readonly<Record<string, Importer>> = {
  Add: binary,
  Sub: binary,
  Mul: binary,
  Div: binary,
  Sum: sum,
  Relu: relu,
  Clip: clip,
  Identity: identity,
  Dropout: dropout,
  BatchNormalization: batchNormalization,
  Softmax: softmax,
  Gemm: gemm,
  MatMul: matMul,
  ReduceMean: reduceMean,
};

