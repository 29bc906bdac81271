import { FLOAT32_MAX, windowAxis, type Padding, type SymbolicValue } from '@tessera/core';
import { transposeData } from '../layout.js';
import type { Importer, NodeImport } from './node.js';

/*
 * Sliding-window ops: Conv, MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool. They run in
 * NHWC; pads are resolved here into Tessera's SAME / VALID / explicit padding, or into a pad node
 * where Tessera's op has no such padding.
 */

interface AxisPads {
  readonly before: number;
  readonly after: number;
}

/** ONNX's per-axis pads (auto_pad, or `pads` = [top, left, bottom, right]) for a window. */
function onnxPads(n: NodeImport, inputs: readonly number[], kernel: readonly number[], strides: readonly number[], dilations: readonly number[]): AxisPads[] {
  const autoPad = n.attrs.string('auto_pad', 'NOTSET');
  return inputs.map((input, i) => {
    const span = (kernel[i] - 1) * dilations[i] + 1;
    switch (autoPad) {
      case 'NOTSET': {
        const pads = n.attrs.ints('pads') ?? [0, 0, 0, 0];
        if (pads.length !== 4) n.fail(`pads ${JSON.stringify(pads)} must have 4 entries for a 2-D window`);
        if (pads.some((p) => p < 0)) n.fail(`negative pads ${JSON.stringify(pads)} are not supported`);
        return { before: pads[i], after: pads[i + 2] };
      }
      case 'VALID':
        return { before: 0, after: 0 };
      case 'SAME_UPPER':
      case 'SAME_LOWER': {
        const out = Math.ceil(input / strides[i]);
        const total = Math.max((out - 1) * strides[i] + span - input, 0);
        const small = Math.floor(total / 2);
        return autoPad === 'SAME_UPPER' ? { before: small, after: total - small } : { before: total - small, after: small };
      }
      default:
        return n.fail(`auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
    }
  });
}

/** Tessera's padding for pads, preferring SAME / VALID where they say the same. */
function tesseraPadding(pads: readonly AxisPads[]): Padding {
  if (pads.every((p) => p.before === 0 && p.after === 0)) return 'VALID';
  return [
    [pads[0].before, pads[0].after],
    [pads[1].before, pads[1].after],
  ];
}

function pair(values: number[] | undefined, fallback: number, what: string, n: NodeImport): [number, number] {
  const v = values ?? [fallback, fallback];
  if (v.length !== 2) n.fail(`${what} ${JSON.stringify(v)}: only 2-D windows are supported (2 entries)`);
  return [v[0], v[1]];
}

/** The 4-D (NCHW) input of a 2-D window op, held in NHWC. */
function imageInput(n: NodeImport): { x: SymbolicValue; shape: readonly number[] } {
  const name = n.required(0, 'X');
  const shape = n.ctx.shape(name);
  if (shape.length !== 4) n.fail(`input ${JSON.stringify(shape)} has rank ${shape.length}: only 2-D images (rank 4, NCHW) are supported`);
  return { x: n.ctx.nhwc(name), shape };
}

const conv: Importer = (n) => {
  const { ctx } = n;
  const { x, shape } = imageInput(n);
  const [, channels, inH, inW] = shape;
  const wName = n.required(1, 'W');
  const w = ctx.constant(wName) ?? { shape: ctx.shape(wName), kind: 'float' as const, data: undefined };
  if (w.shape.length !== 4) n.fail(`W ${JSON.stringify(w.shape)} must be 4-D [M, C / group, kH, kW]`);
  const [outC, groupC, kH, kW] = w.shape;
  const group = n.attrs.int('group', 1);
  if (groupC * group !== channels || outC % group !== 0) {
    n.fail(`W [${w.shape}] with group ${group} does not fit ${channels} input channels (needs C / group = W's dimension 1, M divisible by group)`);
  }
  const strides = pair(n.attrs.ints('strides'), 1, 'strides', n);
  const dilations = pair(n.attrs.ints('dilations'), 1, 'dilations', n);
  const kernel = pair(n.attrs.ints('kernel_shape'), 0, 'kernel_shape', n);
  if (n.attrs.has('kernel_shape') && (kernel[0] !== kH || kernel[1] !== kW)) n.fail(`kernel_shape [${kernel}] differs from W's [${kH}, ${kW}]`);
  const pads = onnxPads(n, [inH, inW], [kH, kW], strides, dilations);
  // TensorFlow refuses a stride and a dilation both above 1: run the dilated conv at stride 1
  // over the same pads, then keep every stride-th output (the same sums, an exact rewrite).
  const split = strides.some((s) => s > 1) && dilations.some((d) => d > 1);
  const attrs = { strides: split ? [1, 1] : strides, dilations, padding: tesseraPadding(pads) };

  /** The filter in Tessera's layout: constant data converted, or a run-time W transposed (read as `readAs` first). */
  const filterOf = (perm: number[], readAs: number[], shape: number[]): SymbolicValue => {
    if (w.data) return ctx.floatConstant(`${n.name}/filter`, shape, transposeData(w.data, readAs, perm));
    const source = readAs.every((d, i) => d === w.shape[i]) ? ctx.asis(wName) : ctx.op('reshape', [ctx.asis(wName)], { shape: readAs }, `${n.name}/W`);
    return ctx.transpose(source, perm, `${n.name}/filter`);
  };
  let y: SymbolicValue;
  if (group === 1) {
    const filter = filterOf([2, 3, 1, 0], [...w.shape], [kH, kW, channels, outC]);
    y = ctx.op('conv2d', [x, filter], attrs, split || n.input(2) ? `${n.name}/conv` : n.name);
  } else if (group === channels) {
    // W[c * mult + m, 0, h, w] is filter[h, w, c, m]: read W as [C, mult, kH, kW].
    const mult = outC / channels;
    const filter = filterOf([2, 3, 0, 1], [channels, mult, kH, kW], [kH, kW, channels, mult]);
    y = ctx.op('depthwise_conv2d', [x, filter], attrs, split || n.input(2) ? `${n.name}/conv` : n.name);
  } else {
    // 1 < group < C: a conv per group over its slice of the channels, joined along channels.
    const perGroup = outC / group;
    const data = w.data ?? n.fail(`W must be a constant for a grouped Conv (group ${group} of ${channels} channels)`);
    const parts = Array.from({ length: group }, (_, k) => {
      const part = ctx.op('slice', [x], { begin: [0, 0, 0, k * groupC], size: [x.shape[0], x.shape[1], x.shape[2], groupC], strides: [1, 1, 1, 1] }, `${n.name}/group${k}/in`);
      const wk = data.subarray(k * perGroup * groupC * kH * kW, (k + 1) * perGroup * groupC * kH * kW);
      const filter = ctx.floatConstant(`${n.name}/group${k}/filter`, [kH, kW, groupC, perGroup], transposeData(wk, [perGroup, groupC, kH, kW], [2, 3, 1, 0]));
      return ctx.op('conv2d', [part, filter], attrs, `${n.name}/group${k}`);
    });
    y = ctx.op('concat', parts, { axis: 3 }, split || n.input(2) ? `${n.name}/conv` : n.name);
  }
  if (split) {
    const [, outH, outW] = [0, windowAxis('height', inH, kH, strides[0], dilations[0], attrs.padding).out, windowAxis('width', inW, kW, strides[1], dilations[1], attrs.padding).out];
    y = ctx.op('slice', [y], { begin: [0, 0, 0, 0], size: [y.shape[0], outH, outW, outC], strides: [1, strides[0], strides[1], 1] }, n.input(2) ? `${n.name}/strided` : n.name);
  }
  const b = n.input(2);
  if (b !== undefined) {
    if (ctx.shape(b).length !== 1 || ctx.shape(b)[0] !== outC) n.fail(`B ${JSON.stringify(ctx.shape(b))} must be [${outC}]`);
    y = ctx.op('bias_add', [y, ctx.asis(b)], {}, n.name);
  }
  ctx.setValue(n.output, y, 'nhwc');
};

/** Pool geometry as ONNX defines it, with ceil_mode resolved into extra trailing padding. */
function poolPads(n: NodeImport, shape: readonly number[], kernel: [number, number], strides: [number, number]): { pads: AxisPads[]; ceilExtra: boolean } {
  const dilations = pair(n.attrs.ints('dilations'), 1, 'dilations', n);
  if (dilations.some((d) => d !== 1)) n.fail(`dilations [${dilations}] are not supported for pooling (Tessera's pools are undilated)`);
  const pads = onnxPads(n, [shape[2], shape[3]], kernel, strides, [1, 1]);
  if (pads.some((p, i) => p.before >= kernel[i] || p.after >= kernel[i])) n.fail(`pads must be smaller than the window ${kernel.join('x')}`);
  if (n.attrs.int('ceil_mode', 0) === 0) return { pads, ceilExtra: false };
  let ceilExtra = false;
  const withCeil = pads.map((p, i) => {
    const input = shape[2 + i];
    const padded = input + p.before + p.after;
    let out = Math.ceil((padded - kernel[i]) / strides[i]) + 1;
    // The last window must start inside the input or its leading padding (ONNX, PyTorch).
    if ((out - 1) * strides[i] >= input + p.before) out--;
    const extra = Math.max((out - 1) * strides[i] + kernel[i] - padded, 0);
    if (extra > 0) ceilExtra = true;
    return { before: p.before, after: p.after + extra };
  });
  return { pads: withCeil, ceilExtra };
}

function poolKernel(n: NodeImport): { kernel: [number, number]; strides: [number, number] } {
  const kernel = pair(n.attrs.ints('kernel_shape') ?? n.fail('kernel_shape is required'), 0, 'kernel_shape', n);
  return { kernel, strides: pair(n.attrs.ints('strides'), 1, 'strides', n) };
}

const maxPool: Importer = (n) => {
  const { ctx } = n;
  n.onlyFirstOutput(ctx.usedNames);
  const { x, shape } = imageInput(n);
  const { kernel, strides } = poolKernel(n);
  const { pads } = poolPads(n, shape, kernel, strides);
  const attrs = { ksize: kernel, strides };
  const padding = tesseraPadding(pads);
  if (padding === 'VALID') return ctx.setValue(n.output, ctx.op('maxpool', [x], { ...attrs, padding }, n.name), 'nhwc');
  const same = [windowAxis('height', shape[2], kernel[0], strides[0], 1, 'SAME'), windowAxis('width', shape[3], kernel[1], strides[1], 1, 'SAME')];
  if (same.every((s, i) => s.padBefore === pads[i].before && s.padAfter === pads[i].after)) {
    return ctx.setValue(n.output, ctx.op('maxpool', [x], { ...attrs, padding: 'SAME' }, n.name), 'nhwc');
  }
  // Other pads: pad with the lowest float32 and pool VALID. Padded cells then never win, as in
  // ONNX, except against a window whose input cells are all -Infinity (docs/FORMAT.md).
  const paddings = [[0, 0], [pads[0].before, pads[0].after], [pads[1].before, pads[1].after], [0, 0]];
  const padded = ctx.op('pad', [x], { paddings, value: -FLOAT32_MAX }, `${n.name}/pad`);
  ctx.setValue(n.output, ctx.op('maxpool', [padded], { ...attrs, padding: 'VALID' }, n.name), 'nhwc');
};

const averagePool: Importer = (n) => {
  const { ctx } = n;
  const { x, shape } = imageInput(n);
  const { kernel, strides } = poolKernel(n);
  const { pads, ceilExtra } = poolPads(n, shape, kernel, strides);
  if (ceilExtra) n.fail('ceil_mode 1 adds windows past the padded input here, whose divisor Tessera cannot express');
  const padding = tesseraPadding(pads);
  const attrs = { ksize: kernel, strides };
  if (padding === 'VALID' || n.attrs.int('count_include_pad', 0) === 0) {
    // Padded cells neither added nor counted: Tessera's (TensorFlow's) avg_pool.
    return ctx.setValue(n.output, ctx.op('avg_pool', [x], { ...attrs, padding }, n.name), 'nhwc');
  }
  // count_include_pad: the pads are zeros that count, an explicit pad node.
  const paddings = [[0, 0], [pads[0].before, pads[0].after], [pads[1].before, pads[1].after], [0, 0]];
  const padded = ctx.op('pad', [x], { paddings, value: 0 }, `${n.name}/pad`);
  ctx.setValue(n.output, ctx.op('avg_pool', [padded], { ...attrs, padding: 'VALID' }, n.name), 'nhwc');
};

const globalAveragePool: Importer = (n) => {
  const { x } = imageInput(n);
  n.ctx.setValue(n.output, n.ctx.op('mean', [x], { axes: [1, 2], keepdims: true }, n.name), 'nhwc');
};

const globalMaxPool: Importer = (n) => {
  const { x, shape } = imageInput(n);
  const attrs = { ksize: [shape[2], shape[3]], strides: [1, 1], padding: 'VALID' };
  n.ctx.setValue(n.output, n.ctx.op('maxpool', [x], attrs, n.name), 'nhwc');
};

export const WINDOW_IMPORTERS: Readonly<Record<string, Importer>> = {
  Conv: conv,
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
  GlobalMaxPool: globalMaxPool,
};
