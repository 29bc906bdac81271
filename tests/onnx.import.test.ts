/*
 * importOnnx on single-node models built here, with ONNX Runtime as the independent oracle: the
 * import's float64 reference must hold ORT's float32 result within its bound (the sign of zeros
 * aside: ONNX does not specify it). Each property draws the attributes ONNX allows and TensorFlow
 * does not (SAME_LOWER, pads that are neither SAME nor VALID, ceil_mode, count_include_pad,
 * groups, strides with dilations, Gemm's alpha / beta / transposes, Softmax before opset 13).
 */
import { fc, test as propTest } from '@fast-check/vitest';
import { compareToReference, evaluate, randomTensor, TesseraError } from '@tessera/core';
import { AttributeType, DataType, encodeModel, floatTensorProto, importOnnx, type NodeProto } from '@tessera/onnx';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

interface Spec {
  readonly opset: number;
  readonly input: readonly number[];
  readonly weights?: Readonly<Record<string, readonly number[]>>;
  readonly node: { op: string; inputs: string[]; attrs?: Record<string, number | number[] | string> };
}

function attribute(name: string, v: number | number[] | string, floats: boolean) {
  if (typeof v === 'string') return { name, type: AttributeType.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: AttributeType.INTS, ints: v };
  return floats ? { name, type: AttributeType.FLOAT, f: v } : { name, type: AttributeType.INT, i: v };
}

const FLOAT_ATTRS = new Set(['alpha', 'beta', 'epsilon', 'min', 'max']);

function model(spec: Spec): Uint8Array {
  const node: NodeProto = {
    op_type: spec.node.op,
    name: 'node',
    input: spec.node.inputs,
    output: ['y'],
    attribute: Object.entries(spec.node.attrs ?? {}).map(([k, v]) => attribute(k, v, FLOAT_ATTRS.has(k))),
  };
  const dims = (shape: readonly number[]) => ({ dim: shape.map((d) => ({ dim_value: d })) });
  return encodeModel({
    ir_version: 7,
    opset_import: [{ domain: '', version: spec.opset }],
    graph: {
      name: 'single',
      node: [node],
      initializer: Object.entries(spec.weights ?? {}).map(([name, shape], k) => floatTensorProto(name, shape, randomTensor([...shape], 11 + k, 0.5).data)),
      input: [{ name: 'x', type: { tensor_type: { elem_type: DataType.FLOAT, shape: dims(spec.input) } } }],
      output: [{ name: 'y', type: { tensor_type: { elem_type: DataType.FLOAT } } }],
    },
  });
}

/** Failures of ORT's output against the import's reference. */
async function againstOrt(spec: Spec): Promise<string[]> {
  const bytes = model(spec);
  const graph = importOnnx(bytes);
  const x = randomTensor([...spec.input], 5).data;
  const ref = evaluate(graph, { [graph.inputs[0].name]: x }).y;
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const out = (await session.run({ x: new ort.Tensor('float32', x, [...spec.input]) })).y;
    expect([...out.dims]).toEqual([...ref.shape]);
    const cmp = compareToReference(out.data as Float32Array, { ...ref, zeroSign: undefined });
    return cmp.ok ? [] : [`${cmp.failures} elements, first ${JSON.stringify(cmp.firstFailure)}`];
  } finally {
    await session.release();
  }
}

const image = fc.record({ n: fc.integer({ min: 1, max: 2 }), c: fc.integer({ min: 1, max: 6 }), h: fc.integer({ min: 1, max: 9 }), w: fc.integer({ min: 1, max: 9 }) });
const pair = (min: number, max: number) => fc.tuple(fc.integer({ min, max }), fc.integer({ min, max }));

describe('importOnnx against ONNX Runtime', () => {
  propTest.prop([
    image,
    fc.integer({ min: 1, max: 4 }),
    fc.constantFrom(1, 'depthwise', 'grouped'),
    pair(1, 3),
    pair(1, 3),
    pair(1, 3),
    fc.constantFrom('NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'),
    fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
    fc.boolean(),
  ], { numRuns: 100 })(
    'Conv (groups, depthwise, strides with dilations, every auto_pad, any pads) imports as what ORT computes',
    async ({ n, c, h, w }, mult, grouping, kernel, strides, dilations, autoPad, pads, bias) => {
      const channels = grouping === 'grouped' ? 2 * c : c;
      const group = grouping === 1 ? 1 : grouping === 'depthwise' ? channels : 2;
      const out = grouping === 'depthwise' ? channels * mult : group * mult;
      const span = (i: 0 | 1) => (kernel[i] - 1) * dilations[i] + 1;
      const padded = [h + (autoPad === 'NOTSET' ? pads[0] + pads[2] : 0), w + (autoPad === 'NOTSET' ? pads[1] + pads[3] : 0)];
      fc.pre(autoPad.startsWith('SAME') || (padded[0] >= span(0) && padded[1] >= span(1)));
      // ORT refuses dilations with SAME_UPPER / SAME_LOWER ("Dilation not supported for AutoPadType::SAME_*").
      fc.pre(!autoPad.startsWith('SAME') || (dilations[0] === 1 && dilations[1] === 1));
      const spec: Spec = {
        opset: 13,
        input: [n, channels, h, w],
        weights: { W: [out, channels / group, kernel[0], kernel[1]], ...(bias ? { B: [out] } : {}) },
        node: { op: 'Conv', inputs: ['x', 'W', ...(bias ? ['B'] : [])], attrs: { group, strides, dilations, auto_pad: autoPad, ...(autoPad === 'NOTSET' ? { pads } : {}) } },
      };
      expect(await againstOrt(spec)).toEqual([]);
    },
  );

  propTest.prop([
    image,
    fc.constantFrom('MaxPool', 'AveragePool'),
    pair(1, 3),
    pair(1, 3),
    fc.constantFrom('NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'),
    fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)),
    fc.constantFrom(0, 1),
    fc.constantFrom(0, 1),
  ], { numRuns: 150 })(
    'MaxPool and AveragePool (any pads below the window, ceil_mode, count_include_pad) import as what ORT computes, or are refused by name',
    async ({ n, c, h, w }, op, kernel, strides, autoPad, pads, ceil, includePad) => {
      const explicit = autoPad === 'NOTSET';
      fc.pre(!explicit || (pads[0] < kernel[0] && pads[2] < kernel[0] && pads[1] < kernel[1] && pads[3] < kernel[1]));
      fc.pre(h + (explicit ? pads[0] + pads[2] : 0) >= kernel[0] && w + (explicit ? pads[1] + pads[3] : 0) >= kernel[1]);
      // ORT computes SAME pads without clamping at 0 and refuses a negative total (kernel < stride).
      const sameTotal = (i: 0 | 1, size: number) => (Math.ceil(size / strides[i]) - 1) * strides[i] + kernel[i] - size;
      fc.pre(!autoPad.startsWith('SAME') || (sameTotal(0, h) >= 0 && sameTotal(1, w) >= 0));
      const attrs = { kernel_shape: kernel, strides, auto_pad: autoPad, ceil_mode: ceil, ...(explicit ? { pads } : {}), ...(op === 'AveragePool' ? { count_include_pad: includePad } : {}) };
      const spec: Spec = { opset: 19, input: [n, c, h, w], node: { op, inputs: ['x'], attrs } };
      try {
        expect(await againstOrt(spec)).toEqual([]);
      } catch (e) {
        // The one refusal: AveragePool whose ceil_mode adds a window past the padded input.
        if (!(e instanceof TesseraError)) throw e;
        expect(e.message).toMatch(/^node 'node' \(AveragePool, opset 19\): ceil_mode 1 adds windows/);
      }
    },
  );

  propTest.prop([fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.boolean(), fc.boolean(), fc.constantFrom(1, 0.5, -2), fc.constantFrom(1, 0, 3), fc.constantFrom('N', '1N', 'MN')], { numRuns: 30 })(
    'Gemm (transA, transB, alpha, beta, a bias of [N], [1, N] or [M, N]) imports as what ORT computes',
    async (m, k, nCols, transA, transB, alpha, beta, biasShape) => {
      const c = biasShape === 'N' ? [nCols] : biasShape === '1N' ? [1, nCols] : [m, nCols];
      const spec: Spec = {
        opset: 13,
        input: transA ? [k, m] : [m, k],
        weights: { B: transB ? [nCols, k] : [k, nCols], C: c },
        node: { op: 'Gemm', inputs: ['x', 'B', 'C'], attrs: { transA: transA ? 1 : 0, transB: transB ? 1 : 0, alpha, beta } },
      };
      expect(await againstOrt(spec)).toEqual([]);
    },
  );

  propTest.prop([fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }), fc.integer({ min: -4, max: 3 }), fc.constantFrom(11, 13)], { numRuns: 30 })(
    'Softmax over any axis, flattened to 2-D before opset 13 and along the axis from 13, imports as what ORT computes',
    async (shape, axisDraw, opset) => {
      const axis = ((axisDraw % shape.length) + shape.length) % shape.length;
      expect(await againstOrt({ opset, input: shape, node: { op: 'Softmax', inputs: ['x'], attrs: { axis } } })).toEqual([]);
    },
  );

  it('refuses what Tessera cannot express, naming the node, the op and the opset', () => {
    const clip = model({ opset: 6, input: [1, 4], node: { op: 'Clip', inputs: ['x'], attrs: { min: -1, max: 1 } } });
    expect(() => importOnnx(clip)).toThrow("node 'node' (Clip, opset 6): Clip(-1, 1) is not supported");
    const dilated = model({ opset: 12, input: [1, 1, 8, 8], node: { op: 'MaxPool', inputs: ['x'], attrs: { kernel_shape: [2, 2], dilations: [2, 2] } } });
    expect(() => importOnnx(dilated)).toThrow("node 'node' (MaxPool, opset 12): dilations [2,2] are not supported");
    const unknown = model({ opset: 13, input: [1, 4], node: { op: 'Tanh', inputs: ['x'] } });
    expect(() => importOnnx(unknown)).toThrow("node 'node' (Tanh, opset 13): unsupported op");
    expect(() => importOnnx(new Uint8Array([1, 2, 3]))).toThrow(/not an ONNX model/);
  });
});
