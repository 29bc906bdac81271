import { windowAxis, type Node, type Padding } from '@tessera/core';
import { TO_NCHW, permute, transposeData } from '../layout.js';
import { DataType } from '../proto/proto.js';
import type { ExportContext, Exporter } from './context.js';

/*
 * One exporter per Tessera op (a table, as core's op table). Fused ops export as their parts:
 * Conv / Gemm with the bias, then Add for a residual, then Relu or Clip.
 */

type Attrs = Readonly<Record<string, unknown>>;
const attrs = (node: Node): Attrs => node.attrs;

/** ONNX `pads` [top, left, bottom, right] of a window op on an NHWC input, SAME resolved as TensorFlow does. */
function windowPads(input: readonly number[], kernel: readonly number[], strides: readonly number[], dilations: readonly number[], padding: Padding): number[] {
  const h = windowAxis('height', input[1], kernel[0], strides[0], dilations[0], padding);
  const w = windowAxis('width', input[2], kernel[1], strides[1], dilations[1], padding);
  return [h.padBefore, w.padBefore, h.padAfter, w.padAfter];
}

/** Relu or Clip(0, 6) (alone or after a fused op); `raw` is the ONNX name of the value before it. */
function activation(ctx: ExportContext, kind: unknown, raw: string, output: string): void {
  if (kind !== 'relu' && kind !== 'relu6') {
    ctx.write('Identity', [raw], output);
    return;
  }
  // With exactEdgeCases, an Abs turns the -0 ONNX Runtime keeps into TensorFlow's +0 (NaN stays NaN).
  const to = ctx.options.exactEdgeCases ? ctx.fresh(`${output}/${kind}`) : output;
  if (kind === 'relu') ctx.write('Relu', [raw], to);
  else ctx.write('Clip', [raw, ctx.floats(`${output}/min`, [], [0]), ctx.floats(`${output}/max`, [], [6])], to);
  if (to !== output) ctx.write('Abs', [to], output);
}

/** The Conv weight [M, C / group, kH, kW] of a Tessera filter: constant data converted, else a Transpose (and Reshape) node. */
function convWeight(ctx: ExportContext, node: Node, depthwise: boolean): string {
  const f = node.inputs[1];
  const [kH, kW, c, m] = ctx.shape(f);
  const data = ctx.constantData(f);
  // conv2d: HWIO -> OIHW. depthwise: [kH, kW, C, M] -> [C, M, kH, kW], read as [C * M, 1, kH, kW].
  const perm = depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1];
  const shape = depthwise ? [c * m, 1, kH, kW] : [m, c, kH, kW];
  if (data) return ctx.floats(`${node.name}/W`, shape, transposeData(data, [kH, kW, c, m], perm));
  const t = ctx.node('Transpose', [ctx.tessera(f)], `${node.name}/W`, { perm });
  return depthwise ? ctx.node('Reshape', [t, ctx.int64s(`${node.name}/W_shape`, shape)], `${node.name}/W_grouped`) : t;
}

const finite = (data: Float32Array | undefined): boolean => data !== undefined && data.every(Number.isFinite);

/** Conv (with its bias, for the fused forms), then the residual and the activation. */
function conv(depthwise: boolean, fused: boolean): Exporter {
  return (ctx, node) => {
    const a = attrs(node);
    const x = node.inputs[0];
    const [kH, kW, c] = ctx.shape(node.inputs[1]);
    const strides = a.strides as number[];
    const dilations = a.dilations as number[];
    let pads = windowPads(ctx.shape(x), [kH, kW], strides, dilations, a.padding as Padding);
    let input = ctx.value(x);
    if (ctx.options.exactEdgeCases && pads.some((p) => p > 0) && !finite(ctx.constantData(node.inputs[1]))) {
      // NCHW: no padding of N and C; [top, left] before, [bottom, right] after.
      input = ctx.node('Pad', [input, ctx.int64s(`${node.name}/pads`, [0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]])], `${node.name}/padded`, { mode: 'constant' });
      pads = [0, 0, 0, 0];
    }
    const convAttrs = { kernel_shape: [kH, kW], strides, dilations, pads, group: depthwise ? c : 1 };
    const inputs = [input, convWeight(ctx, node, depthwise), ...(fused ? [ctx.value(node.inputs[2])] : [])];
    const residual = fused ? node.inputs[3] : undefined;
    const act = fused ? a.activation : 'none';
    if (!residual && act === 'none') return ctx.write('Conv', inputs, node.name, convAttrs);
    let y = ctx.node('Conv', inputs, `${node.name}/conv`, convAttrs);
    if (residual) y = act === 'none' ? (ctx.write('Add', [y, ctx.value(residual)], node.name), node.name) : ctx.node('Add', [y, ctx.value(residual)], `${node.name}/residual`);
    if (act !== 'none') activation(ctx, act, y, node.name);
  };
}

/** MatMul (Gemm at rank 2), with the bias and activation of fused_matmul. */
function matmul(fused: boolean): Exporter {
  return (ctx, node) => {
    const a = attrs(node);
    const [x, w] = node.inputs;
    const act = fused ? a.activation : 'none';
    const final = act === 'none';
    // Gemm's C starts ONNX Runtime's sums, where TensorFlow adds the bias to the finished product: a separate Add with exactEdgeCases.
    if (ctx.rank(x) === 2 && !(fused && ctx.options.exactEdgeCases)) {
      const inputs = [ctx.value(x), ctx.value(w), ...(fused ? [ctx.value(node.inputs[2])] : [])];
      const gemm = { transA: a.transposeA ? 1 : 0, transB: a.transposeB ? 1 : 0 };
      if (final) return ctx.write('Gemm', inputs, node.name, gemm);
      return activation(ctx, act, ctx.node('Gemm', inputs, `${node.name}/gemm`, gemm), node.name);
    }
    // Rank 3 (and exact rank 2): transposes of the last two axes as Transpose nodes.
    const last2 = (v: string, t: unknown): string => (t ? ctx.node('Transpose', [ctx.value(v)], `${node.name}/${v}_t`, { perm: ctx.rank(v) === 3 ? [0, 2, 1] : [1, 0] }) : ctx.value(v));
    const inputs = [last2(x, a.transposeA), last2(w, a.transposeB)];
    if (!fused) return ctx.write('MatMul', inputs, node.name);
    const product = ctx.node('MatMul', inputs, `${node.name}/matmul`);
    if (final) return ctx.write('Add', [product, ctx.value(node.inputs[2])], node.name);
    activation(ctx, act, ctx.node('Add', [product, ctx.value(node.inputs[2])], `${node.name}/bias`), node.name);
  };
}

/** A rank-1 per-channel operand shaped to broadcast over the channel axis of the ONNX form of `like`. */
function perChannel(ctx: ExportContext, operand: string, like: string, base: string): string {
  if (ctx.rank(like) !== 4) return ctx.value(operand);
  const c = ctx.shape(operand)[0];
  const data = ctx.constantData(operand);
  if (data) return ctx.floats(`${base}/${operand}`, [c, 1, 1], data);
  return ctx.node('Reshape', [ctx.value(operand), ctx.int64s(`${base}/shape`, [c, 1, 1])], `${base}/${operand}_c11`);
}

/** An operand of a broadcasting op, in the ONNX order of an output of rank `rank`. */
function broadcastOperand(ctx: ExportContext, operand: string, rank: number, base: string): string {
  const r = ctx.rank(operand);
  if (rank !== 4 || r === 4) return rank === 4 ? ctx.value(operand) : ctx.tessera(operand);
  // A lower-rank operand meets a rank-4 output: led by 1s to rank 4, then to NCHW.
  const shape4 = [...new Array<number>(4 - r).fill(1), ...ctx.shape(operand)];
  const data = ctx.constantData(operand);
  if (data) return ctx.floats(`${base}/${operand}`, permute(shape4, TO_NCHW), transposeData(data, shape4, TO_NCHW));
  const reshaped = ctx.node('Reshape', [ctx.value(operand), ctx.int64s(`${base}/shape`, shape4)], `${base}/${operand}_4d`);
  return ctx.node('Transpose', [reshaped], `${base}/${operand}_nchw`, { perm: TO_NCHW });
}

function binary(op: 'Add' | 'Mul'): Exporter {
  return (ctx, node) => {
    const rank = ctx.rank(node.name);
    const [a, b] = node.inputs.map((v) => broadcastOperand(ctx, v, rank, node.name));
    if (rank === 4) return ctx.write(op, [a, b], node.name);
    ctx.fromTessera(node.name, (out) => ctx.write(op, [a, b], out));
  };
}

/** Per-window pools: TensorFlow's SAME resolved into pads; padded cells never win / are not counted. */
function pool(op: 'MaxPool' | 'AveragePool'): Exporter {
  return (ctx, node) => {
    const a = attrs(node);
    const ksize = a.ksize as number[];
    const strides = a.strides as number[];
    const pads = windowPads(ctx.shape(node.inputs[0]), ksize, strides, [1, 1], a.padding as Padding);
    const window = { kernel_shape: ksize, strides, pads, ...(op === 'AveragePool' && { count_include_pad: 0 }) };
    const x = ctx.value(node.inputs[0]);
    if (op === 'AveragePool' || !ctx.options.exactEdgeCases) return ctx.write(op, [x], node.name, window);
    // A window holding a NaN gives NaN, as in TensorFlow (ONNX Runtime's MaxPool skips NaN).
    const nans = ctx.node('Cast', [ctx.node('IsNaN', [x], `${node.name}/is_nan`)], `${node.name}/nans`, { to: DataType.FLOAT });
    const hasNan = ctx.node('Cast', [ctx.node('MaxPool', [nans], `${node.name}/window_nans`, window)], `${node.name}/has_nan`, { to: DataType.BOOL });
    const max = ctx.node('MaxPool', [x], `${node.name}/max`, window);
    ctx.write('Where', [hasNan, ctx.floats(`${node.name}/nan`, [], [NaN]), max], node.name);
  };
}

/**
 * batch_norm as Tessera defines it, (x - mean) * a + offset with a = scale / sqrt(variance +
 * epsilon) (a in float64, rounded once, where the statistics are constants, as the cpu backend
 * does): ONNX Runtime's BatchNormalization computes x * a + (offset - mean * a), which gives
 * NaN instead of an infinity where a is infinite and x is 0 (`exactEdgeCases`).
 */
function exactBatchNorm(ctx: ExportContext, node: Node): void {
  const [x, mean, variance, offset, scale] = node.inputs;
  const epsilon = attrs(node).epsilon as number;
  const c = ctx.shape(mean)[0];
  // Per channel: the last axis in Tessera's order, axis 1 of a rank-4 value held in NCHW.
  const shape = ctx.rank(x) === 4 ? [c, 1, 1] : [c];
  const stat = (v: string) => ctx.node('Reshape', [ctx.value(v), ctx.int64s(`${node.name}/${v}_shape`, shape)], `${node.name}/${v}`);
  const [sc, va] = [ctx.constantData(scale), ctx.constantData(variance)];
  const a = sc && va
    ? ctx.floats(`${node.name}/a`, shape, Float32Array.from(sc, (s, i) => s / Math.sqrt(va[i] + epsilon)))
    : ctx.node('Div', [stat(scale), ctx.node('Sqrt', [ctx.node('Add', [stat(variance), ctx.floats(`${node.name}/epsilon`, [], [epsilon])], `${node.name}/var_eps`)], `${node.name}/std`)], `${node.name}/a`);
  const centred = ctx.node('Sub', [ctx.value(x), stat(mean)], `${node.name}/centred`);
  ctx.write('Add', [ctx.node('Mul', [centred, a], `${node.name}/scaled`), stat(offset)], node.name);
}

const batchNorm: Exporter = (ctx, node) => {
  if (ctx.options.exactEdgeCases) return exactBatchNorm(ctx, node);
  const [x, mean, variance, offset, scale] = node.inputs;
  const epsilon = attrs(node).epsilon as number;
  const rank = ctx.rank(x);
  const stats = [scale, offset, mean, variance].map((v) => ctx.value(v));
  if (rank === 4 || rank === 2) return ctx.write('BatchNormalization', [ctx.value(x), ...stats], node.name, { epsilon }, ['epsilon']);
  // BatchNormalization's channels are axis 1: Tessera's last axis moved there and back.
  ctx.fromTessera(node.name, (out) => {
    if (rank === 1) {
      const c = ctx.shape(x)[0];
      const row = ctx.node('Reshape', [ctx.value(x), ctx.int64s(`${node.name}/row`, [1, c])], `${node.name}/row`);
      const y = ctx.node('BatchNormalization', [row, ...stats], `${node.name}/bn`, { epsilon }, ['epsilon']);
      return ctx.write('Reshape', [y, ctx.int64s(`${node.name}/shape`, [c])], out);
    }
    const perm = [0, rank - 1, ...Array.from({ length: rank - 2 }, (_, i) => i + 1)];
    const moved = ctx.node('Transpose', [ctx.tessera(x)], `${node.name}/channels_first`, { perm });
    const y = ctx.node('BatchNormalization', [moved, ...stats], `${node.name}/bn`, { epsilon }, ['epsilon']);
    ctx.write('Transpose', [y], out, { perm: perm.map((_, i) => perm.indexOf(i)) });
  });
};

const reshape: Exporter = (ctx, node) => {
  const shape = ctx.shape(node.name);
  const input = ctx.tessera(node.inputs[0]);
  ctx.fromTessera(node.name, (out) => ctx.write('Reshape', [input, ctx.int64s(`${node.name}/shape`, shape)], out));
};

const transpose: Exporter = (ctx, node) => {
  const rank = ctx.rank(node.inputs[0]);
  const perm = (attrs(node).perm as number[] | undefined) ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  const input = ctx.tessera(node.inputs[0]);
  ctx.fromTessera(node.name, (out) => ctx.write('Transpose', [input], out, { perm }));
};

const mean: Exporter = (ctx, node) => {
  const a = attrs(node);
  const x = node.inputs[0];
  const rank = ctx.rank(x);
  const axes = (a.axes as number[]).map((v) => (v < 0 ? v + rank : v));
  const keepdims = a.keepdims ? 1 : 0;
  // No axes reduces nothing (ReduceMean would reduce every axis).
  if (axes.length === 0) return ctx.fromTessera(node.name, (out) => ctx.write('Identity', [ctx.tessera(x)], out));
  if (rank === 4 && keepdims) return ctx.write('ReduceMean', [ctx.value(x)], node.name, { axes: axes.map((v) => ctx.onnxAxis(v, 4)), keepdims });
  const input = ctx.tessera(x);
  ctx.fromTessera(node.name, (out) => ctx.write('ReduceMean', [input], out, { axes, keepdims }));
};

const softmax: Exporter = (ctx, node) => {
  // Tessera's last axis: the channels (axis 1) of a rank-4 value's NCHW form.
  ctx.write('Softmax', [ctx.value(node.inputs[0])], node.name, { axis: ctx.rank(node.name) === 4 ? 1 : -1 });
};

const slice: Exporter = (ctx, node) => {
  const a = attrs(node);
  const begin = a.begin as number[];
  const size = a.size as number[];
  const strides = a.strides as number[];
  const ends = begin.map((b, i) => b + (size[i] - 1) * strides[i] + 1);
  const order = <T>(v: readonly T[]): T[] => ctx.onnxOrder(v);
  const inputs = [
    ctx.value(node.inputs[0]),
    ctx.int64s(`${node.name}/starts`, order(begin)),
    ctx.int64s(`${node.name}/ends`, order(ends)),
    ctx.int64s(`${node.name}/axes`, begin.map((_, i) => i)),
    ctx.int64s(`${node.name}/steps`, order(strides)),
  ];
  ctx.write('Slice', inputs, node.name);
};

const pad: Exporter = (ctx, node) => {
  const a = attrs(node);
  // A scalar has nothing to pad (ONNX Runtime's Pad refuses rank 0).
  if ((a.paddings as unknown[]).length === 0) return ctx.write('Identity', [ctx.value(node.inputs[0])], node.name);
  const pairs = ctx.onnxOrder(a.paddings as [number, number][]);
  const pads = [...pairs.map((p) => p[0]), ...pairs.map((p) => p[1])];
  const inputs = [ctx.value(node.inputs[0]), ctx.int64s(`${node.name}/pads`, pads), ctx.floats(`${node.name}/value`, [], [a.value as number])];
  ctx.write('Pad', inputs, node.name, { mode: 'constant' });
};

const concat: Exporter = (ctx, node) => {
  const rank = ctx.rank(node.name);
  ctx.write('Concat', node.inputs.map((v) => ctx.value(v)), node.name, { axis: ctx.onnxAxis(attrs(node).axis as number, rank) });
};

const biasAdd: Exporter = (ctx, node) => {
  ctx.write('Add', [ctx.value(node.inputs[0]), perChannel(ctx, node.inputs[1], node.inputs[0], node.name)], node.name);
};

const relu: Exporter = (ctx, node) => activation(ctx, 'relu', ctx.value(node.inputs[0]), node.name);
const relu6: Exporter = (ctx, node) => activation(ctx, 'relu6', ctx.value(node.inputs[0]), node.name);

/** Every Tessera op, by name: a test checks this covers core's op table. */
export const EXPORTERS: Readonly<Record<string, Exporter>> = {
  conv2d: conv(false, false),
  depthwise_conv2d: conv(true, false),
  fused_conv2d: conv(false, true),
  fused_depthwise_conv2d: conv(true, true),
  matmul: matmul(false),
  fused_matmul: matmul(true),
  bias_add: biasAdd,
  relu,
  relu6,
  maxpool: pool('MaxPool'),
  avg_pool: pool('AveragePool'),
  batch_norm: batchNorm,
  reshape,
  transpose,
  mean,
  softmax,
  slice,
  pad,
  concat,
  add: binary('Add'),
  mul: binary('Mul'),
};
