/**
 * Issue 22, group b: avg_pool, mean, softmax.
 *
 * (a) the float64 reference against TensorFlow.js (tfjs-core + tfjs-backend-cpu): the shape the
 *     builder infers equals tfjs', and every tfjs element is within the reference's own bound;
 * (b) the cpu backend, and the workers backend with every step split across threads
 *     (inlineCost 0, minPartCost 0), agree with the reference within its bound
 *     (`compareToReference`), on random cases with channel counts that are not multiples of 4 and
 *     SAME padding with odd totals;
 * (c) build-time errors.
 *
 * Replay: one fast-check seed for every property, printed below; TESSERA_SEED=<n> overrides it,
 * TESSERA_RUNS=<n> asks for more than 200 runs per tfjs property.
 */
import '@tessera/backend-cpu';
import { fc, test } from '@fast-check/vitest';
import { GraphBuilder, evaluate, type Graph, type Shape } from '@tessera/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectBackendsAgree as expectSplitAgree, useSplitWorkers } from './helpers/split-workers.js';
import { expectWithinBound, floatData, numelOf, propertySeed, runTf, tesseraOneNode, tesseraShape, tf, tfPadding, useTfjsCpu, type DataSpec, type TesseraPadding } from './helpers/tfjs.js';

const SEED = propertySeed(0x22b);
const RUNS = Math.max(200, Number(process.env.TESSERA_RUNS) || 0);
const params = { numRuns: RUNS, seed: SEED } as const;
/** Each backend case compiles two sessions: fewer runs keep the file fast on two cores. */
const backendParams = { numRuns: 40, seed: SEED } as const;
console.log(`[ops.b] fast-check seed ${SEED}, ${RUNS} runs per tfjs property (replay with TESSERA_SEED=${SEED})`);

const container = useSplitWorkers();
beforeAll(useTfjsCpu, 120_000);

const int = (min: number, max: number) => fc.integer({ min, max });
type Pair = [number, number];

const dataSpec: fc.Arbitrary<DataSpec> = fc.record({
  seed: fc.nat(),
  scale: int(-12, 12),
  spread: int(0, 6),
  zeros: fc.constantFrom(0, 0, 0.25),
});

/** One-input graph: `make` adds the node under test. */
function oneInput(shape: Shape, make: (g: GraphBuilder, x: ReturnType<GraphBuilder['input']>) => ReturnType<GraphBuilder['input']>): Graph {
  const g = new GraphBuilder('pooling-softmax');
  return g.build({ y: make(g, g.input('x', shape)) });
}

/** cpu and split workers against the reference, element by element within its bound. */
const expectBackendsAgree = (graph: Graph, x: Float32Array) => expectSplitAgree(container, graph, { x }, graph.name, false);

// ---------------------------------------------------------------------------------------------
// avg_pool
// ---------------------------------------------------------------------------------------------

interface PoolCase {
  readonly input: [number, number, number, number];
  readonly ksize: Pair;
  readonly strides: Pair;
  readonly padding: TesseraPadding;
  readonly x: DataSpec;
}

/** SAME, VALID or explicit pads smaller than the window; strides often larger than the window. */
const poolCase = (maxSpatial: number, maxC: number): fc.Arbitrary<PoolCase> =>
  fc
    .record({
      batch: int(1, 3),
      c: int(1, maxC),
      k: fc.tuple(int(1, 5), int(1, 5)),
      s: fc.tuple(int(1, 6), int(1, 6)),
      kind: fc.constantFrom('SAME', 'VALID', 'EXPLICIT'),
      pads: fc.tuple(fc.nat(), fc.nat(), fc.nat(), fc.nat()),
      h: fc.nat(),
      w: fc.nat(),
      x: dataSpec,
    })
    .map((r): PoolCase => {
      const [kH, kW] = r.k;
      const explicit = r.kind === 'EXPLICIT';
      const pads = [r.pads[0] % kH, r.pads[1] % kH, r.pads[2] % kW, r.pads[3] % kW];
      const padding: TesseraPadding = explicit ? [[pads[0], pads[1]], [pads[2], pads[3]]] : (r.kind as 'SAME' | 'VALID');
      const size = (k: number, padTotal: number, raw: number) => {
        const min = r.kind === 'SAME' ? 1 : Math.max(1, k - padTotal);
        return min + (raw % (maxSpatial - min + 1));
      };
      const inH = size(kH, explicit ? pads[0] + pads[1] : 0, r.h);
      const inW = size(kW, explicit ? pads[2] + pads[3] : 0, r.w);
      return { input: [r.batch, inH, inW, r.c], ksize: r.k, strides: r.s, padding, x: r.x };
    });

describe('avg_pool', () => {
  test.prop([poolCase(12, 8)], params)(
    'avg_pool: shape equals tf.avgPool and values are within the reference bound, for SAME / VALID / explicit padding (padded cells not counted)',
    (c) => {
      const x = floatData(numelOf(c.input), c.x);
      const attrs = { ksize: c.ksize, strides: c.strides, padding: c.padding };
      const { inferred, ref } = tesseraOneNode('avg_pool', [{ shape: c.input, data: x }], attrs);
      const t = runTf(() => tf.avgPool(tf.tensor4d(x, c.input), c.ksize, c.strides, tfPadding(c.padding)));
      expect(inferred).toEqual(t.shape);
      expect(ref.shape).toEqual(t.shape);
      expectWithinBound('avg_pool', t.data, ref);
    },
  );

  test.prop([poolCase(9, 9)], backendParams)('avg_pool: cpu and split workers are within the reference bound', async (c) => {
    const x = floatData(numelOf(c.input), c.x);
    const graph = oneInput(c.input, (g, v) => g.avgPool(v, { ksize: c.ksize, strides: c.strides, padding: c.padding }));
    await expectBackendsAgree(graph, x);
  });

  it('avg_pool: SAME with odd pad totals (6x7 input, 3x2 window, stride 2: pads 0/1 and 0/1) divides border windows by their real cells only', async () => {
    const graph = oneInput([2, 6, 7, 5], (g, v) => g.avgPool(v, { ksize: [3, 2], strides: [2, 2], padding: 'SAME' }));
    const x = floatData(2 * 6 * 7 * 5, { seed: 3, scale: 0, spread: 2, zeros: 0 });
    const ref = evaluate(graph, { x }).y;
    expect(ref.shape).toEqual([2, 3, 4, 5]);
    // Output (0, 2, 3, c): rows 4..5 (6 is padding), column 6 (7 is padding): 2 real cells.
    const at = (y: number, xx: number, c: number) => x[(y * 7 + xx) * 5 + c];
    const o = ((0 * 3 + 2) * 4 + 3) * 5 + 1;
    expect(ref.value[o]).toBeCloseTo((at(4, 6, 1) + at(5, 6, 1)) / 2, 6);
    await expectBackendsAgree(graph, x);
  });

  it('avg_pool: NaN in a window gives NaN, +Inf with -Inf gives NaN, +Inf with finite cells +Inf', async () => {
    const graph = oneInput([1, 2, 4, 1], (g, v) => g.avgPool(v, { ksize: [2, 2], strides: [2, 2], padding: 'VALID' }));
    const x = new Float32Array([NaN, 1, Infinity, 1, 2, 3, 2, -Infinity]);
    expect(Array.from(evaluate(graph, { x }).y.value)).toEqual([NaN, NaN]);
    const x2 = new Float32Array([1, 1, Infinity, 1, 2, 3, 2, 5]);
    expect(Array.from(evaluate(graph, { x: x2 }).y.value)).toEqual([1.75, Infinity]);
    await expectBackendsAgree(graph, x);
    await expectBackendsAgree(graph, x2);
  });

  it('avg_pool: build-time errors name what was expected', () => {
    expect(() => tesseraShape('avg_pool', [[1, 4, 4, 2]], { ksize: [2, 2], strides: [1, 1], padding: [[2, 0], [0, 0]] })).toThrow(
      /node 'y' \(avg_pool\): explicit padding \[\[2,0\],\[0,0\]\] must be smaller than the window 2x2/,
    );
    expect(() => tesseraShape('avg_pool', [[1, 4, 4, 2]], { ksize: [5, 1], strides: [1, 1], padding: 'VALID' })).toThrow(
      /node 'y' \(avg_pool\): VALID window of height 5 .* is larger than the input height 4/,
    );
    expect(() => tesseraShape('avg_pool', [[4, 4, 2]], { ksize: [2, 2], strides: [1, 1], padding: 'SAME' })).toThrow(
      /node 'y' \(avg_pool\): input must have rank 4, got \[4,4,2\]/,
    );
    expect(() => tesseraShape('avg_pool', [[1, 4, 4, 2]], { ksize: [2, 2], padding: 'SAME' })).toThrow(/invalid attributes: strides/);
  });
});

// ---------------------------------------------------------------------------------------------
// mean
// ---------------------------------------------------------------------------------------------

interface MeanCase {
  readonly input: number[];
  /** Unique axes, each written as i or i - rank. */
  readonly axes: number[];
  readonly keepdims: boolean;
  readonly x: DataSpec;
}

/** Rank 1..5, dims 1..maxDim, any subset of axes (empty included) with random signs, keepdims either way. */
const meanCase = (maxDim: number): fc.Arbitrary<MeanCase> =>
  fc
    .record({
      input: fc.array(int(1, maxDim), { minLength: 1, maxLength: 5 }),
      pick: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
      negative: fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }),
      order: fc.nat(),
      keepdims: fc.boolean(),
      x: dataSpec,
    })
    .map((r): MeanCase => {
      const rank = r.input.length;
      const axes = r.input.flatMap((_, i) => (r.pick[i] ? [r.negative[i] ? i - rank : i] : []));
      // Rotate so that axes are not always ascending.
      const k = axes.length ? r.order % axes.length : 0;
      return { input: r.input, axes: [...axes.slice(k), ...axes.slice(0, k)], keepdims: r.keepdims, x: r.x };
    });

const reducesToRank0 = (c: MeanCase) => !c.keepdims && c.axes.length === c.input.length;

describe('mean', () => {
  test.prop([meanCase(6)], params)(
    'mean: shape equals tf.mean and values are within the reference bound for any unique axes (negative too) and keepdims',
    (c) => {
      const x = floatData(numelOf(c.input), c.x);
      const attrs = { axes: c.axes, keepdims: c.keepdims };
      if (reducesToRank0(c)) {
        expect(() => tesseraShape('mean', [c.input], attrs)).toThrow(/rank 0, which Tessera has not: set keepdims/);
        return;
      }
      const { inferred, ref } = tesseraOneNode('mean', [{ shape: c.input, data: x }], attrs);
      const t = runTf(() => tf.mean(tf.tensor(x, c.input), c.axes, c.keepdims));
      expect(inferred).toEqual(t.shape);
      expect(ref.shape).toEqual(t.shape);
      expectWithinBound('mean', t.data, ref);
    },
  );

  test.prop([meanCase(7).filter((c) => !reducesToRank0(c))], backendParams)('mean: cpu and split workers are within the reference bound', async (c) => {
    const graph = oneInput(c.input, (g, v) => g.mean(v, { axes: c.axes, keepdims: c.keepdims }));
    await expectBackendsAgree(graph, floatData(numelOf(c.input), c.x));
  });

  it('mean: global average pooling over [1, 2] of [2,5,3,7] gives [2,7] ([2,1,1,7] with keepdims), the average of each channel', async () => {
    const x = floatData(2 * 5 * 3 * 7, { seed: 5, scale: 0, spread: 3, zeros: 0 });
    for (const keepdims of [false, true]) {
      const graph = oneInput([2, 5, 3, 7], (g, v) => g.mean(v, { axes: [1, -2], keepdims }));
      const ref = evaluate(graph, { x }).y;
      expect(ref.shape).toEqual(keepdims ? [2, 1, 1, 7] : [2, 7]);
      let sum = 0;
      for (let p = 0; p < 15; p++) sum += x[(15 + p) * 7 + 6];
      expect(ref.value[7 + 6]).toBeCloseTo(sum / 15, 6);
      await expectBackendsAgree(graph, x);
    }
  });

  it('mean: NaN in the reduced elements gives NaN, +Inf with -Inf NaN, +Inf with finite +Inf', async () => {
    const graph = oneInput([3, 2], (g, v) => g.mean(v, { axes: [-1] }));
    const x = new Float32Array([NaN, 1, Infinity, -Infinity, Infinity, 2]);
    expect(Array.from(evaluate(graph, { x }).y.value)).toEqual([NaN, NaN, Infinity]);
    await expectBackendsAgree(graph, x);
  });

  it('mean: build-time errors name what was expected', () => {
    expect(() => tesseraShape('mean', [[2, 3]], { axes: [2] })).toThrow(/node 'y' \(mean\): axis 2 is out of range for input \[2,3\]: expected -2 \.\. 1/);
    expect(() => tesseraShape('mean', [[2, 3, 4]], { axes: [1, -2] })).toThrow(/node 'y' \(mean\): axes \[1,-2\] name axis 1 more than once/);
    expect(() => tesseraShape('mean', [[2, 3]], { axes: [0, 1] })).toThrow(/rank 0, which Tessera has not: set keepdims/);
    expect(() => tesseraShape('mean', [[2, 3]], { axes: [0.5] })).toThrow(/invalid attributes: axes/);
    expect(() => tesseraShape('mean', [[2, 3]], {})).toThrow(/invalid attributes: axes/);
  });
});

// ---------------------------------------------------------------------------------------------
// softmax
// ---------------------------------------------------------------------------------------------

interface SoftmaxCase {
  readonly input: number[];
  readonly x: DataSpec;
}

/** Rank 1..4, last axis 1..maxLast; logits up to 2^18 in magnitude, so many exps underflow. */
const softmaxCase = (maxLast: number): fc.Arbitrary<SoftmaxCase> =>
  fc.record({
    input: fc.tuple(fc.array(int(1, 4), { maxLength: 3 }), int(1, maxLast)).map(([outer, last]) => [...outer, last]),
    x: dataSpec,
  });

describe('softmax', () => {
  test.prop([softmaxCase(40)], params)('softmax: shape equals tf.softmax and values are within the reference bound', (c) => {
    const x = floatData(numelOf(c.input), c.x);
    const { inferred, ref } = tesseraOneNode('softmax', [{ shape: c.input, data: x }], {});
    const t = runTf(() => tf.softmax(tf.tensor(x, c.input)));
    expect(inferred).toEqual(t.shape);
    expect(ref.shape).toEqual(t.shape);
    expectWithinBound('softmax', t.data, ref);
  });

  test.prop([softmaxCase(70)], backendParams)('softmax: cpu and split workers are within the reference bound', async (c) => {
    await expectBackendsAgree(oneInput(c.input, (g, v) => g.softmax(v)), floatData(numelOf(c.input), c.x));
  });

  test.prop([poolCase(8, 11)], backendParams)(
    'softmax of a global average pool (inputs with non-zero bounds): cpu and split workers are within the carried bound',
    async (c) => {
      const graph = oneInput(c.input, (g, v) => g.softmax(g.mean(g.avgPool(v, { ksize: c.ksize, strides: c.strides, padding: c.padding }), { axes: [1, 2] })));
      await expectBackendsAgree(graph, floatData(numelOf(c.input), c.x));
    },
  );

  it('softmax: rows with NaN, with +Inf, or of -Inf only are NaN rows; -Inf next to finite values gives exactly 0', async () => {
    const rows = [
      [NaN, 1, 2],
      [Infinity, 1, 2],
      [Infinity, Infinity, 0],
      [-Infinity, -Infinity, -Infinity],
      [-Infinity, 0, 0],
      [-Infinity, 3, -Infinity],
    ];
    const graph = oneInput([6, 3], (g, v) => g.softmax(v));
    const x = new Float32Array(rows.flat());
    const ref = evaluate(graph, { x }).y;
    expect(Array.from(ref.value.subarray(0, 12)).every(Number.isNaN)).toBe(true);
    expect(Array.from(ref.value.subarray(12))).toEqual([0, 0.5, 0.5, 0, 1, 0]);
    expect(ref.bound[13]).toBeGreaterThan(0);
    expect(ref.bound[13]).toBeLessThan(1e-5);
    await expectBackendsAgree(graph, x);
  });

  it('softmax: build-time errors name what was expected', () => {
    expect(() => tesseraShape('softmax', [[2, 3]], { axis: 0 })).toThrow(/node 'y' \(softmax\): invalid attributes: .*axis/);
    expect(() => tesseraShape('softmax', [[]], {})).toThrow(/node 'y' \(softmax\): logits \[\] must have rank >= 1/);
  });
});
