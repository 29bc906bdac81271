/**
 * Issue 22, group c: batch_norm, depthwise_conv2d and fused_depthwise_conv2d (depthwise + bias +
 * activation, MobileNet's depthwise block as the fusion pass makes it).
 *
 * (a) the float64 reference against TensorFlow.js (tfjs-core + tfjs-backend-cpu) within the
 *     reference's own per-element bound, >= 200 cases per op;
 * (b) the cpu backend and the workers backend with every step really split across threads agree
 *     with the reference within the bound (and with each other bit for bit), on random cases with
 *     channel counts that are not multiples of 4 and SAME padding with odd totals;
 * (c) build-time errors.
 *
 * Replay: one fast-check seed, printed below; TESSERA_SEED=<n> runs another, TESSERA_RUNS=<n> more runs.
 */
import '@tessera/backend-cpu';
import { compareToReference, evaluate, GraphBuilder, summarize, Tensor, type Activation, type Graph, type Shape, type SymbolicValue } from '@tessera/core';
import { createSession } from '@tessera/runtime';
import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectBackendsAgree as expectSplitAgree, useSplitWorkers } from './helpers/split-workers.js';
import { expectWithinBound, floatData, numelOf, propertySeed, runTf, tesseraOneNode, tesseraShape, tf, tfPadding, useTfjsCpu, type DataSpec, type TesseraPadding } from './helpers/tfjs.js';

const SEED = propertySeed(0x22c0de);
const RUNS = Math.max(200, Number(process.env.TESSERA_RUNS) || 0);
const params = { numRuns: RUNS, seed: SEED } as const;
/** Backend cases compile and run sessions: fewer of them. */
const BACKEND_RUNS = 40;
console.log(`[ops.c] fast-check seed ${SEED}, ${RUNS} runs per tfjs property (replay with TESSERA_SEED=${SEED})`);

const int = (min: number, max: number) => fc.integer({ min, max });

/** Data: a PRNG seed, a binary scale in 2^-12 .. 2^12, a spread of exponents, sometimes zeros. */
const dataSpec: fc.Arbitrary<DataSpec> = fc.record({
  seed: fc.nat(),
  scale: int(-12, 12),
  spread: int(0, 6),
  zeros: fc.constantFrom(0, 0, 0.25),
});

const container = useSplitWorkers();
beforeAll(useTfjsCpu, 120_000);

/** cpu and split workers within the reference's bounds, and bit-identical to each other. */
const expectBackendsAgree = (graph: Graph, feeds: Record<string, Float32Array>, label: string) =>
  expectSplitAgree(container, graph, feeds, label, true);

// ---------------------------------------------------------------------------------------------
// batch_norm
// ---------------------------------------------------------------------------------------------

interface BatchNormCase {
  readonly shape: Shape;
  readonly x: DataSpec;
  readonly stats: readonly [DataSpec, DataSpec, DataSpec, DataSpec];
  readonly epsilon: number;
}

const batchNormCase = (maxDim: number, maxChannels: number): fc.Arbitrary<BatchNormCase> =>
  fc.record({
    shape: fc.tuple(fc.array(int(1, maxDim), { maxLength: 3 }), int(1, maxChannels)).map(([lead, c]) => [...lead, c] as Shape),
    x: dataSpec,
    stats: fc.tuple(dataSpec, dataSpec, dataSpec, dataSpec),
    epsilon: fc.oneof(fc.constantFrom(1e-3, 1e-5, 0.1, 1), fc.double({ min: 1e-8, max: 4, noNaN: true })),
  });

/** The operands of a case: x, mean, variance (>= 0), offset, scale. */
function batchNormData(c: BatchNormCase): Float32Array[] {
  const C = c.shape[c.shape.length - 1];
  const [mean, variance, offset, scale] = c.stats.map((s) => floatData(C, s));
  return [floatData(numelOf(c.shape), c.x), mean, variance.map(Math.abs), offset, scale];
}

function tfBatchNorm(shape: Shape, [x, m, v, o, s]: readonly Float32Array[], epsilon: number) {
  return runTf(() => tf.batchNorm(tf.tensor(x, [...shape]), tf.tensor1d(m), tf.tensor1d(v), tf.tensor1d(o), tf.tensor1d(s), epsilon));
}

const NAMES = ['x', 'mean', 'variance', 'offset', 'scale'] as const;

describe('batch_norm', () => {
  test.prop([batchNormCase(6, 11)], params)(
    'batch_norm: shape and values equal tf.batchNorm within the reference bound, for any rank, channel count and epsilon',
    (c) => {
      const data = batchNormData(c);
      const C = c.shape[c.shape.length - 1];
      const operands = data.map((d, k) => ({ shape: k === 0 ? c.shape : [C], data: d }));
      const { inferred, ref } = tesseraOneNode('batch_norm', operands, { epsilon: c.epsilon });
      const t = tfBatchNorm(c.shape, data, c.epsilon);
      expect(inferred).toEqual(t.shape);
      expectWithinBound('batch_norm', t.data, ref);
    },
  );

  const special = fc.constantFrom(NaN, Infinity, -Infinity, 0, -0, 1, -2.5, 0.5, -1e-3);
  test.prop([int(1, 6), fc.array(special, { minLength: 30, maxLength: 30 })], params)(
    'batch_norm: non-finite operands (NaN, ±Inf, ±0, a variance just below -epsilon) give what tf.batchNorm gives, element for element',
    (C, pool) => {
      const pick = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => pool[(i * 7 + k * 5) % pool.length]);
      const data = [pick(2 * C, 0), pick(C, 1), pick(C, 2), pick(C, 3), pick(C, 4)];
      const operands = data.map((d, k) => ({ shape: k === 0 ? [2, C] : [C], data: d }));
      const { ref } = tesseraOneNode('batch_norm', operands, { epsilon: 1e-3 });
      expectWithinBound('batch_norm', tfBatchNorm([2, C], data, 1e-3).data, ref);
    },
  );

  it('batch_norm: cpu and split workers agree with the reference (and bit for bit with each other), alone and after a conv2d, in place before a relu', async () => {
    const cases = fc.sample(fc.tuple(batchNormCase(9, 13), fc.boolean()), { numRuns: BACKEND_RUNS, seed: SEED });
    for (const [i, [c, constants]] of cases.entries()) {
      const data = batchNormData(c);
      const C = c.shape[c.shape.length - 1];
      const g = new GraphBuilder('bn');
      const x = g.input('x', c.shape);
      const feeds: Record<string, Float32Array> = { x: data[0] };
      const stats = NAMES.slice(1).map((name, k): SymbolicValue => {
        if (constants) return g.constant(name, new Tensor([C], data[k + 1]));
        feeds[name] = data[k + 1];
        return g.input(name, [C]);
      });
      const [m, v, o, s] = stats;
      await expectBackendsAgree(g.build({ y: g.batchNorm(x, m, v, o, s, { epsilon: c.epsilon }) }), feeds, `case ${i} ${JSON.stringify(c.shape)}`);
    }
    // A conv2d head whose element-wise followers (batch_norm, relu) the workers chain.
    const g = new GraphBuilder('conv-bn');
    const C = 7;
    const conv = g.conv2d(g.input('x', [2, 9, 9, 3]), g.constant('f', new Tensor([3, 3, 3, C], floatData(27 * C, { seed: 1, scale: 0, spread: 2, zeros: 0 }))), { padding: 'SAME' });
    const stat = (name: string, seed: number, abs = false) =>
      g.constant(name, new Tensor([C], floatData(C, { seed, scale: 0, spread: 2, zeros: 0 }).map((v) => (abs ? Math.abs(v) : v))));
    const y = g.relu(g.batchNorm(conv, stat('m', 2), stat('v', 3, true), stat('o', 4), stat('s', 5)));
    await expectBackendsAgree(g.build({ y }), { x: floatData(2 * 81 * 3, { seed: 6, scale: 0, spread: 2, zeros: 0.1 }) }, 'conv2d -> batch_norm -> relu');
  }, 120_000);

  it('batch_norm: build-time errors name the operand and what was expected', () => {
    const bn = (shapes: Shape[], attrs: Record<string, unknown> = {}) => () => tesseraShape('batch_norm', shapes, attrs);
    expect(bn([[2, 5], [4], [5], [5], [5]])).toThrow("node 'y' (batch_norm): mean [4] must match the channel dimension 5");
    expect(bn([[2, 5], [5], [5], [5], [1, 5]])).toThrow('scale must have rank 1, got [1,5] (rank 2)');
    expect(bn([[2, 5], [5], [5], [6], [5]])).toThrow('offset [6] must match the channel dimension 5');
    expect(bn([[3], [3], [3], [3], [3]], { epsilon: 0 })).toThrow(/invalid attributes: epsilon/);
    expect(bn([[3], [3], [3], [3], [3]], { epsilon: -1e-3 })).toThrow(/invalid attributes: epsilon/);
    expect(bn([[3], [3], [3], [3], [3]], { eps: 1e-3 })).toThrow(/invalid attributes/);
    expect(tesseraShape('batch_norm', [[1, 2, 2, 3], [3], [3], [3], [3]], {})).toEqual([1, 2, 2, 3]);
  });
});

// ---------------------------------------------------------------------------------------------
// depthwise_conv2d
// ---------------------------------------------------------------------------------------------

type Pair = [number, number];

/** Shapes, the op's attributes as given to the builder, and how input and filter data are drawn. */
interface DepthwiseCase {
  readonly input: [number, number, number, number];
  readonly filter: [number, number, number, number];
  readonly attrs: { readonly strides: Pair; readonly dilations: Pair; readonly padding: TesseraPadding };
  readonly data: readonly [DataSpec, DataSpec];
}

/**
 * Strides 1..4 (often past the kernel) or dilations 1..3 (not both, as TensorFlow), SAME / VALID /
 * explicit pads 0..2; the input is at least the window for VALID and explicit padding.
 */
const depthwiseCase = (maxSpatial: number, maxChannels: number): fc.Arbitrary<DepthwiseCase> =>
  fc
    .record({
      n: int(1, 2),
      c: int(1, maxChannels),
      mult: int(1, 3),
      k: fc.tuple(int(1, 4), int(1, 4)),
      step: fc.tuple(int(1, 4), int(1, 4)),
      dilate: fc.boolean(),
      kind: fc.constantFrom('SAME', 'SAME', 'VALID', 'EXPLICIT'),
      pads: fc.tuple(int(0, 2), int(0, 2), int(0, 2), int(0, 2)),
      extra: fc.tuple(int(0, maxSpatial), int(0, maxSpatial)),
      x: dataSpec,
      f: dataSpec,
    })
    .map((r): DepthwiseCase => {
      const dilations: Pair = r.dilate ? [Math.min(r.step[0], 3), Math.min(r.step[1], 3)] : [1, 1];
      const strides: Pair = r.dilate ? [1, 1] : r.step;
      const padding: TesseraPadding = r.kind === 'EXPLICIT' ? [[r.pads[0], r.pads[1]], [r.pads[2], r.pads[3]]] : (r.kind as 'SAME' | 'VALID');
      const side = (axis: 0 | 1) => {
        const span = (r.k[axis] - 1) * dilations[axis] + 1;
        const padded = r.kind === 'EXPLICIT' ? r.pads[2 * axis] + r.pads[2 * axis + 1] : 0;
        return Math.max(1, r.kind === 'SAME' ? 1 : span - padded) + r.extra[axis];
      };
      return { input: [r.n, side(0), side(1), r.c], filter: [r.k[0], r.k[1], r.c, r.mult], attrs: { strides, dilations, padding }, data: [r.x, r.f] };
    });

function depthwiseData(c: DepthwiseCase): [Float32Array, Float32Array] {
  return [floatData(numelOf(c.input), c.data[0]), floatData(numelOf(c.filter), c.data[1])];
}

describe('depthwise_conv2d', () => {
  test.prop([depthwiseCase(9, 9)], params)(
    'depthwise_conv2d: shape and values equal tf.depthwiseConv2d within the reference bound, for any multiplier, stride, dilation and padding',
    (c) => {
      const [x, f] = depthwiseData(c);
      const { inferred, ref } = tesseraOneNode(
        'depthwise_conv2d',
        [
          { shape: c.input, data: x },
          { shape: c.filter, data: f },
        ],
        c.attrs,
      );
      const { strides, padding, dilations } = c.attrs;
      const t = runTf(() => tf.depthwiseConv2d(tf.tensor4d(x, c.input), tf.tensor4d(f, c.filter), strides, tfPadding(padding), 'NHWC', dilations));
      expect(inferred).toEqual(t.shape);
      expectWithinBound('depthwise_conv2d', t.data, ref);
    },
  );

  it('depthwise_conv2d: the cases cover SAME pads with odd totals, channel counts not multiples of 4, multipliers > 1, dilations and explicit pads', () => {
    const seen = { oddSame: 0, odd4: 0, mult: 0, dilated: 0, explicit: 0 };
    for (const c of fc.sample(depthwiseCase(9, 9), { numRuns: RUNS, seed: SEED })) {
      const { strides, dilations, padding } = c.attrs;
      const total = (axis: 1 | 2) => {
        const out = Math.ceil(c.input[axis] / strides[axis - 1]);
        return Math.max((out - 1) * strides[axis - 1] + (c.filter[axis - 1] - 1) * dilations[axis - 1] + 1 - c.input[axis], 0);
      };
      if (padding === 'SAME' && (total(1) % 2 === 1 || total(2) % 2 === 1)) seen.oddSame++;
      if (c.input[3] % 4 !== 0) seen.odd4++;
      if (c.filter[3] > 1) seen.mult++;
      if (dilations[0] > 1 || dilations[1] > 1) seen.dilated++;
      if (Array.isArray(padding)) seen.explicit++;
    }
    for (const [what, count] of Object.entries(seen)) expect(count, what).toBeGreaterThan(RUNS / 20);
  });

  it('depthwise_conv2d: cpu and split workers agree with the reference (and bit for bit with each other), filter constant or input', async () => {
    const cases = fc.sample(fc.tuple(depthwiseCase(12, 13), fc.boolean()), { numRuns: BACKEND_RUNS, seed: SEED });
    for (const [i, [c, constant]] of cases.entries()) {
      const [xd, fd] = depthwiseData(c);
      const g = new GraphBuilder('dw');
      const feeds: Record<string, Float32Array> = { x: xd };
      const f = constant ? g.constant('f', new Tensor(c.filter, fd)) : g.input('f', c.filter);
      if (!constant) feeds.f = fd;
      const y = g.depthwiseConv2d(g.input('x', c.input), f, c.attrs);
      await expectBackendsAgree(g.build({ y }), feeds, `case ${i} ${JSON.stringify(c)}`);
    }
  }, 120_000);

  it('depthwise_conv2d: a non-finite weight at a tap that meets padding gives NaN there (0 * Inf), on cpu as in the reference', async () => {
    const g = new GraphBuilder('dw-inf');
    const w = new Float32Array(9 * 2).fill(1);
    w[0] = Infinity; // tap (0, 0) of channel 0
    const y = g.depthwiseConv2d(g.input('x', [1, 3, 3, 2]), g.constant('f', new Tensor([3, 3, 2, 1], w)), { padding: 'SAME' });
    const graph = g.build({ y });
    const feeds = { x: new Float32Array(18).fill(1) };
    const ref = evaluate(graph, feeds).y;
    const session = await createSession(graph, { backend: 'cpu' });
    const out = (await session.run(feeds)).y;
    session.dispose();
    // Channel 0: NaN on the top row and left column, +Inf elsewhere; channel 1: finite.
    const channel0 = Array.from({ length: 9 }, (_, p) => out[2 * p]);
    expect(channel0.map((v) => (Number.isNaN(v) ? 'NaN' : v))).toEqual(['NaN', 'NaN', 'NaN', 'NaN', Infinity, Infinity, 'NaN', Infinity, Infinity]);
    expect(compareToReference(out, ref).ok).toBe(true);
  });

  it('depthwise_conv2d: build-time errors name what was expected; cost and parameters as documented', () => {
    const dw = (shapes: Shape[], attrs: Record<string, unknown>) => () => tesseraShape('depthwise_conv2d', shapes, attrs);
    expect(dw([[1, 5, 5, 3], [3, 3, 4, 2]], { padding: 'SAME' })).toThrow(
      "node 'y' (depthwise_conv2d): filter in_channels 4 does not match input channels 3 (input [1,5,5,3] NHWC, filter [3,3,4,2] [KH, KW, C, multiplier])",
    );
    expect(dw([[1, 5, 5, 3], [3, 3, 3]], { padding: 'SAME' })).toThrow('filter must have rank 4, got [3,3,3] (rank 3)');
    expect(dw([[1, 5, 5, 3], [3, 3, 3, 1]], { padding: 'SAME', strides: [2, 1], dilations: [1, 2] })).toThrow('cannot both exceed 1');
    expect(dw([[1, 2, 5, 3], [3, 3, 3, 1]], { padding: 'VALID' })).toThrow('VALID window of height 3 (kernel 3, dilation 1) is larger than the input height 2');
    expect(dw([[1, 5, 5, 3], [3, 3, 3, 1]], {})).toThrow(/invalid attributes: padding/);
    expect(tesseraShape('depthwise_conv2d', [[2, 7, 6, 3], [3, 3, 3, 2]], { padding: 'SAME', strides: [2, 2] })).toEqual([2, 4, 3, 6]);
    const g = new GraphBuilder('cost');
    const y = g.depthwiseConv2d(g.input('x', [2, 7, 6, 3]), g.constant('f', new Tensor([3, 3, 3, 2])), { padding: 'SAME', strides: [2, 2] });
    const [row] = summarize(g.build({ y })).rows;
    expect(row).toMatchObject({ params: 3 * 3 * 3 * 2, macs: 2 * 4 * 3 * 6 * 9 });
  });
});

// ---------------------------------------------------------------------------------------------
// fused_depthwise_conv2d
// ---------------------------------------------------------------------------------------------

const ACTIVATIONS = ['none', 'relu', 'relu6'] as const;
/** A depthwise case with a bias (its own data spec) and an activation. */
const fusedDepthwiseCase = (maxSpatial: number, maxChannels: number) =>
  fc.tuple(depthwiseCase(maxSpatial, maxChannels), dataSpec, fc.constantFrom<Activation>(...ACTIVATIONS));

/** tf.depthwiseConv2d, then tf.add of the bias, then tf.relu / tf.relu6. */
function tfFusedDepthwise(c: DepthwiseCase, x: Float32Array, f: Float32Array, bias: Float32Array, activation: Activation) {
  const { strides, padding, dilations } = c.attrs;
  return runTf(() => {
    const y = tf.add(tf.depthwiseConv2d(tf.tensor4d(x, c.input), tf.tensor4d(f, c.filter), strides, tfPadding(padding), 'NHWC', dilations), tf.tensor1d(bias));
    return activation === 'relu' ? tf.relu(y) : activation === 'relu6' ? tf.relu6(y) : y;
  });
}

describe('fused_depthwise_conv2d', () => {
  test.prop([fusedDepthwiseCase(9, 9)], params)(
    'fused_depthwise_conv2d: shape and values equal tf.depthwiseConv2d + bias + relu / relu6 within the reference bound, for every activation, multiplier, stride, dilation and padding',
    ([c, biasSpec, activation]) => {
      const [x, f] = depthwiseData(c);
      const bias = floatData(c.filter[2] * c.filter[3], biasSpec);
      const { inferred, ref } = tesseraOneNode(
        'fused_depthwise_conv2d',
        [
          { shape: c.input, data: x },
          { shape: c.filter, data: f },
          { shape: [bias.length], data: bias },
        ],
        { ...c.attrs, activation },
      );
      const t = tfFusedDepthwise(c, x, f, bias, activation);
      expect(inferred).toEqual(t.shape);
      expectWithinBound('fused_depthwise_conv2d', t.data, ref);
    },
  );

  it('fused_depthwise_conv2d: cpu and split workers agree with the reference (and bit for bit with each other), for every activation, filter and bias constant or input', async () => {
    const cases = fc.sample(fc.tuple(fusedDepthwiseCase(12, 21), fc.boolean()), { numRuns: BACKEND_RUNS, seed: SEED });
    const seen = new Set<Activation>();
    for (const [i, [[c, biasSpec, activation], constant]] of cases.entries()) {
      seen.add(activation);
      const [xd, fd] = depthwiseData(c);
      const bd = floatData(c.filter[2] * c.filter[3], biasSpec);
      const g = new GraphBuilder('fdw');
      const feeds: Record<string, Float32Array> = { x: xd };
      const operand = (name: string, shape: Shape, data: Float32Array) => {
        if (constant) return g.constant(name, new Tensor(shape, data));
        feeds[name] = data;
        return g.input(name, shape);
      };
      const y = g.op('fused_depthwise_conv2d', [g.input('x', c.input), operand('f', c.filter, fd), operand('b', [bd.length], bd)], { ...c.attrs, activation });
      await expectBackendsAgree(g.build({ y }), feeds, `case ${i} ${activation} ${JSON.stringify(c)}`);
    }
    expect([...seen].sort()).toEqual([...ACTIVATIONS].sort());
  }, 120_000);

  it('fused_depthwise_conv2d: relu6 clamps at 6 and keeps NaN, relu clamps -Inf to +0, on cpu exactly as specified', async () => {
    // One channel, 1x1 filter of weight 1: the output is x + bias (-0), then the activation; the
    // sum starts at +0, so -0 in gives +0 already without an activation.
    const xs = [-0, -1, 0.5, 6, 6.5, 1e30, NaN, -Infinity, Infinity];
    const expected: Record<Activation, number[]> = {
      none: [0, ...xs.slice(1)],
      relu: [0, 0, 0.5, 6, 6.5, 1e30, NaN, 0, Infinity],
      relu6: [0, 0, 0.5, 6, 6, 6, NaN, 0, 6],
    };
    for (const activation of ACTIVATIONS) {
      const g = new GraphBuilder('fdw-act');
      const f = g.constant('f', new Tensor([1, 1, 1, 1], new Float32Array([1])));
      const b = g.constant('b', new Tensor([1], new Float32Array([-0])));
      const y = g.op('fused_depthwise_conv2d', [g.input('x', [1, 3, 3, 1]), f, b], { padding: 'VALID', activation });
      const session = await createSession(g.build({ y }), { backend: 'cpu' });
      const out = Array.from((await session.run({ x: Float32Array.from(xs) })).y);
      session.dispose();
      expect(out.map((v) => (Object.is(v, -0) ? '-0' : v)), activation).toEqual(expected[activation].map((v) => (Object.is(v, -0) ? '-0' : Math.fround(v))));
    }
  });
});
