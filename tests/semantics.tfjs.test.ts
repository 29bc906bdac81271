/**
 * An independent check of Tessera's op semantics (docs/SEMANTICS.md) against TensorFlow.js
 * (tfjs-core + tfjs-backend-cpu, which computes in float32).
 *
 * For random shapes, strides, paddings, dilations and data, every property builds a one-node
 * Tessera graph with GraphBuilder, evaluates it with the float64 reference (`evaluate`), runs
 * the same op in tfjs, and asserts
 *   - the shape GraphBuilder inferred, and the reference's shape, equal tfjs' output shape;
 *   - per element, |tfjs - ref.value| <= ref.bound, the reference's own float32 error bound
 *     (docs/SEMANTICS.md, "Tolerances"). No global epsilon: maxpool, relu, relu6, reshape, pad
 *     and concat must match exactly (their bound is 0 on exact inputs), conv2d / matmul /
 *     bias_add / add / mul within a bound derived per element from the magnitudes involved. tfjs-cpu rounds every partial
 *     sum to float32 (error <= K u sum|x w|), well inside c (K + 2) u sum|x w| with c = 2, so
 *     the bound is used as is, without a factor.
 *
 * Replay: every property uses one fast-check seed, printed below; set TESSERA_SEED=<n> to
 * run with another one (fast-check also prints the seed and path of a failing run), and
 * TESSERA_RUNS=<n> for more than 200 runs per property.
 */
import { fc, test } from '@fast-check/vitest';
import { beforeAll, describe, expect } from 'vitest';
import { evaluate, type Shape } from '@tessera/core';
import { OP_NAMES_UNDER_TEST, checkAgainstOracle, graphArbitrary, opCaseArbitrary, passGraphArbitrary, tfjsOracle } from '@tessera/conformance';
import {
  expectWithinBound,
  floatData,
  numelOf,
  propertySeed,
  runTf,
  tesseraOneNode,
  tesseraShape,
  tf,
  tfPadding,
  tfRejection,
  useTfjsCpu,
  type DataSpec,
  type TesseraPadding,
} from './helpers/tfjs.js';

const SEED = propertySeed(0x7e55e4a);
/** At least 200 runs per property; TESSERA_RUNS may ask for more. */
const RUNS = Math.max(200, Number(process.env.TESSERA_RUNS) || 0);
const params = { numRuns: RUNS, seed: SEED } as const;
console.log(`[semantics.tfjs] fast-check seed ${SEED}, ${RUNS} runs per property (replay with TESSERA_SEED=${SEED})`);

/** Small shapes keep the whole file well under a minute on two cores. */
const MAX_SPATIAL = 12;
const MAX_CHANNELS = 8;
const MAX_BATCH = 3;

beforeAll(async () => {
  await useTfjsCpu();
});

const int = (min: number, max: number) => fc.integer({ min, max });
const zeros = (shape: Shape) => tf.zeros([...shape]);
const zeros4 = (s: Shape) => tf.zeros([s[0], s[1], s[2], s[3]] as [number, number, number, number]) as tf.Tensor4D;

/** Data: a PRNG seed, a binary scale in 2^-12 .. 2^12, a spread of exponents, sometimes zeros. */
const dataSpec: fc.Arbitrary<DataSpec> = fc.record({
  seed: fc.nat(),
  scale: int(-12, 12),
  spread: int(0, 6),
  zeros: fc.constantFrom(0, 0, 0.25),
});

type Pair = [number, number];

/** The SAME padding of one axis, written out from TensorFlow's definition (independently of core). */
function samePads(input: number, kernel: number, stride: number, dilation: number): Pair {
  const out = Math.ceil(input / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - input, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

// ---------------------------------------------------------------------------------------------
// conv2d
// ---------------------------------------------------------------------------------------------

interface ConvCase {
  readonly input: [number, number, number, number];
  readonly filter: [number, number, number, number];
  readonly strides: Pair;
  readonly dilations: Pair;
  readonly padding: TesseraPadding;
  readonly x: DataSpec;
  readonly f: DataSpec;
}

/**
 * Either strides in 1..6 (often larger than the kernel) with dilations 1, or dilations in 1..4
 * with strides 1 (TensorFlow rejects both > 1; tested below). Padding SAME, VALID or explicit
 * [[top, bottom], [left, right]] in 0..3. For VALID / explicit the input is drawn large enough
 * for the window (too small a window is a rejection, tested below); the dilation is capped so
 * the dilated window fits in 12.
 */
const convCase: fc.Arbitrary<ConvCase> = fc
  .record({
    batch: int(1, MAX_BATCH),
    inC: int(1, MAX_CHANNELS),
    outC: int(1, MAX_CHANNELS),
    kH: int(1, 5),
    kW: int(1, 5),
    dilated: fc.boolean(),
    s: fc.tuple(int(1, 6), int(1, 6)),
    d: fc.tuple(int(1, 4), int(1, 4)),
    kind: fc.constantFrom('SAME', 'VALID', 'EXPLICIT'),
    pads: fc.tuple(int(0, 3), int(0, 3), int(0, 3), int(0, 3)),
    h: fc.nat(),
    w: fc.nat(),
    x: dataSpec,
    f: dataSpec,
  })
  .map((r): ConvCase => {
    const fit = (k: number, d: number) => (k === 1 ? d : Math.min(d, Math.floor((MAX_SPATIAL - 1) / (k - 1))));
    const strides: Pair = r.dilated ? [1, 1] : r.s;
    const dilations: Pair = r.dilated ? [fit(r.kH, r.d[0]), fit(r.kW, r.d[1])] : [1, 1];
    const padding: TesseraPadding =
      r.kind === 'EXPLICIT' ? [[r.pads[0], r.pads[1]], [r.pads[2], r.pads[3]]] : (r.kind as 'SAME' | 'VALID');
    const size = (k: number, d: number, padBefore: number, padAfter: number, raw: number) => {
      const min = r.kind === 'SAME' ? 1 : Math.max(1, (k - 1) * d + 1 - padBefore - padAfter);
      return min + (raw % (MAX_SPATIAL - min + 1));
    };
    const explicit = r.kind === 'EXPLICIT';
    const inH = size(r.kH, dilations[0], explicit ? r.pads[0] : 0, explicit ? r.pads[1] : 0, r.h);
    const inW = size(r.kW, dilations[1], explicit ? r.pads[2] : 0, explicit ? r.pads[3] : 0, r.w);
    return {
      input: [r.batch, inH, inW, r.inC],
      filter: [r.kH, r.kW, r.inC, r.outC],
      strides,
      dilations,
      padding,
      x: r.x,
      f: r.f,
    };
  });

function tfConv(c: ConvCase, x: Float32Array, f: Float32Array): tf.Tensor4D {
  return tf.conv2d(tf.tensor4d(x, c.input), tf.tensor4d(f, c.filter), c.strides, tfPadding(c.padding), 'NHWC', c.dilations);
}

describe('conv2d', () => {
  test.prop([convCase], params)(
    'conv2d: output shape and values equal tf.conv2d for any shape, stride, padding and dilation',
    (c) => {
      const x = floatData(numelOf(c.input), c.x);
      const f = floatData(numelOf(c.filter), c.f);
      const { inferred, ref } = tesseraOneNode(
        'conv2d',
        [
          { shape: c.input, data: x },
          { shape: c.filter, data: f },
        ],
        { strides: c.strides, padding: c.padding, dilations: c.dilations },
      );
      const t = runTf(() => tfConv(c, x, f));
      expect(inferred).toEqual(t.shape);
      expect(ref.shape).toEqual(t.shape);
      expectWithinBound('conv2d', t.data, ref);
    },
  );

  test('conv2d: the case generator covers asymmetric SAME pads on odd and even inputs, stride > kernel, dilations > 1 and explicit pads', () => {
    const seen = { asymOdd: 0, asymEven: 0, strideGtKernel: 0, dilated: 0, explicit: 0, valid: 0 };
    for (const c of fc.sample(convCase, { numRuns: RUNS, seed: SEED })) {
      if (c.padding === 'SAME') {
        for (const [axis, k] of [
          [1, 0],
          [2, 1],
        ] as const) {
          const [before, after] = samePads(c.input[axis], c.filter[k], c.strides[k], c.dilations[k]);
          if (before !== after) seen[c.input[axis] % 2 ? 'asymOdd' : 'asymEven']++;
        }
      } else if (c.padding === 'VALID') seen.valid++;
      else seen.explicit++;
      if (c.strides[0] > c.filter[0] || c.strides[1] > c.filter[1]) seen.strideGtKernel++;
      if (c.dilations[0] > 1 || c.dilations[1] > 1) seen.dilated++;
    }
    for (const [what, count] of Object.entries(seen)) expect(count, what).toBeGreaterThanOrEqual(3);
  });

  /** Strides and dilations, each with at least one entry > 1; the > 1 entries on the same or on different axes. */
  const stridedDilated = fc
    .record({
      s: fc.tuple(int(1, 4), int(1, 4)),
      d: fc.tuple(int(1, 4), int(1, 4)),
      sAxis: fc.constantFrom(0, 1),
      dAxis: fc.constantFrom(0, 1),
      padding: fc.constantFrom<TesseraPadding>('SAME', 'VALID', [[1, 0], [0, 1]]),
    })
    .map(({ s, d, sAxis, dAxis, padding }) => {
      const strides: Pair = [...s];
      const dilations: Pair = [...d];
      strides[sAxis] = Math.max(2, strides[sAxis]);
      dilations[dAxis] = Math.max(2, dilations[dAxis]);
      return { strides, dilations, padding };
    });

  test.prop([stridedDilated], params)(
    'conv2d: strides > 1 together with dilations > 1 (same or different axes) is rejected by both tfjs and the builder',
    ({ strides, dilations, padding }) => {
      const input: Shape = [1, 12, 12, 2];
      const filter: Shape = [2, 2, 2, 3];
      const rejection = tfRejection(() => tf.conv2d(zeros4(input), zeros4(filter), strides, tfPadding(padding), 'NHWC', dilations));
      expect(rejection).toMatch(/strides or dilations must be 1/);
      expect(() => tesseraShape('conv2d', [input, filter], { strides, dilations, padding })).toThrow(
        `node 'y' (conv2d): strides [${strides.join(',')}] and dilations [${dilations.join(',')}] cannot both exceed 1`,
      );
    },
  );

  /** A window that does not fit on at least one axis: VALID, or explicit pads too small. */
  const tooSmall = fc
    .record({
      failH: fc.boolean(),
      failW: fc.boolean(),
      input: int(1, 6),
      excess: int(1, 4),
      explicit: fc.boolean(),
      pads: fc.tuple(int(0, 2), int(0, 2), int(0, 2), int(0, 2)),
      d: fc.tuple(int(1, 3), int(1, 3)),
      fitK: int(1, 3),
    })
    .map((r) => {
      const failH = r.failH || !r.failW;
      const pads: [Pair, Pair] = r.explicit ? [[r.pads[0], r.pads[1]], [r.pads[2], r.pads[3]]] : [[0, 0], [0, 0]];
      const axis = (fail: boolean, p: Pair, d: number): { input: number; k: number } => {
        if (!fail) return { input: r.fitK + 2, k: r.fitK };
        // Smallest k whose dilated span exceeds the padded input by `excess`.
        const need = r.input + p[0] + p[1] + r.excess;
        return { input: r.input, k: Math.ceil((need - 1) / d) + 1 };
      };
      const h = axis(failH, pads[0], r.d[0]);
      const w = axis(r.failW, pads[1], r.d[1]);
      const padding: TesseraPadding = r.explicit ? pads : 'VALID';
      return { input: [1, h.input, w.input, 2] as Shape, filter: [h.k, w.k, 2, 1] as Shape, dilations: r.d as Pair, padding };
    });

  test.prop([tooSmall], params)(
    'conv2d: a VALID or explicitly padded window larger than the (padded) input is rejected by both tfjs and the builder',
    (c) => {
      const rejection = tfRejection(() =>
        tf.conv2d(zeros4(c.input), zeros4(c.filter), 1, tfPadding(c.padding), 'NHWC', c.dilations),
      );
      expect(rejection, `tfjs accepted ${JSON.stringify(c)}`).toBeDefined();
      expect(() => tesseraShape('conv2d', [c.input, c.filter], { strides: [1, 1], dilations: c.dilations, padding: c.padding })).toThrow(
        /node 'y' \(conv2d\): (VALID|explicitly padded) window of (height|width) \d+ .* is larger than the (padded )?input/,
      );
    },
  );

  test('conv2d: filter in_channels different from the input channels is rejected by both', () => {
    for (const [input, filter] of [
      [
        [1, 5, 5, 3],
        [3, 3, 2, 4],
      ],
      [
        [2, 4, 4, 1],
        [1, 1, 8, 1],
      ],
    ] as const) {
      expect(tfRejection(() => tf.conv2d(zeros4(input), zeros4(filter), 1, 'same'))).toMatch(/depth/);
      expect(() => tesseraShape('conv2d', [input, filter], { padding: 'SAME' })).toThrow(
        new RegExp(`node 'y' \\(conv2d\\): filter in_channels ${filter[2]} does not match input channels ${input[3]}`),
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------
// maxpool
// ---------------------------------------------------------------------------------------------

interface PoolCase {
  readonly input: [number, number, number, number];
  readonly ksize: Pair;
  readonly strides: Pair;
  readonly padding: 'SAME' | 'VALID';
  readonly x: DataSpec;
}

const poolCase: fc.Arbitrary<PoolCase> = fc
  .record({
    batch: int(1, MAX_BATCH),
    c: int(1, MAX_CHANNELS),
    k: fc.tuple(int(1, 5), int(1, 5)),
    s: fc.tuple(int(1, 6), int(1, 6)),
    padding: fc.constantFrom<'SAME' | 'VALID'>('SAME', 'VALID'),
    h: fc.nat(),
    w: fc.nat(),
    x: dataSpec,
  })
  .map((r): PoolCase => {
    const size = (k: number, raw: number) => {
      const min = r.padding === 'SAME' ? 1 : k;
      return min + (raw % (MAX_SPATIAL - min + 1));
    };
    return { input: [r.batch, size(r.k[0], r.h), size(r.k[1], r.w), r.c], ksize: r.k, strides: r.s, padding: r.padding, x: r.x };
  });

describe('maxpool', () => {
  test.prop([poolCase], params)(
    'maxpool: output shape and values equal tf.maxPool exactly for any ksize, strides (also > ksize) and SAME / VALID',
    (c) => {
      const x = floatData(numelOf(c.input), c.x);
      const { inferred, ref } = tesseraOneNode('maxpool', [{ shape: c.input, data: x }], {
        ksize: c.ksize,
        strides: c.strides,
        padding: c.padding,
      });
      const t = runTf(() => tf.maxPool(tf.tensor4d(x, c.input), c.ksize, c.strides, tfPadding(c.padding) as 'same' | 'valid'));
      expect(inferred).toEqual(t.shape);
      expect(ref.shape).toEqual(t.shape);
      // Exact inputs: the bound is 0, so this demands bit-equal maxima.
      expect(ref.bound.every((b) => b === 0)).toBe(true);
      expectWithinBound('maxpool', t.data, ref);
    },
  );

  test.prop([int(1, 6), int(1, 6), int(1, 4), int(0, 3), fc.boolean()], params)(
    'maxpool: a VALID window larger than the input is rejected by both tfjs and the builder',
    (inH, inW, excess, fitExtra, bothAxes) => {
      const ksize: Pair = [inH + excess, bothAxes ? inW + excess : Math.max(1, inW - fitExtra)];
      const input: Shape = [1, inH, inW, 2];
      expect(tfRejection(() => tf.maxPool(zeros4(input), ksize, 1, 'valid'))).toBeDefined();
      expect(() => tesseraShape('maxpool', [input], { ksize, strides: [1, 1], padding: 'VALID' })).toThrow(
        /node 'y' \(maxpool\): VALID window of height \d+ .* is larger than the input height/,
      );
    },
  );
});

// ---------------------------------------------------------------------------------------------
// bias_add and relu
// ---------------------------------------------------------------------------------------------

const smallShape = (maxDim: number) =>
  fc.tuple(fc.array(int(1, maxDim), { minLength: 0, maxLength: 3 }), int(1, MAX_CHANNELS)).map(([lead, c]) => [...lead, c] as Shape);

describe('bias_add and relu', () => {
  test.prop([smallShape(6), dataSpec, dataSpec], params)(
    'bias_add: shape and values equal tf.add broadcasting a rank-1 bias along the last dimension, within the rounding bound',
    (shape, xs, bs) => {
      const c = shape[shape.length - 1];
      const x = floatData(numelOf(shape), xs);
      const b = floatData(c, bs);
      const { inferred, ref } = tesseraOneNode(
        'bias_add',
        [
          { shape, data: x },
          { shape: [c], data: b },
        ],
        {},
      );
      const t = runTf(() => tf.add(tf.tensor(x, [...shape]), tf.tensor1d(b)));
      expect(inferred).toEqual(t.shape);
      expect(ref.shape).toEqual(t.shape);
      expectWithinBound('bias_add', t.data, ref);
    },
  );

  test('bias_add: a bias whose length is not the channel count is rejected by both (lengths >= 2, where tf.add cannot broadcast)', () => {
    for (const [shape, len] of [
      [[2, 3], 4],
      [[1, 4, 4, 4], 2],
      [[5], 3],
    ] as const) {
      expect(tfRejection(() => tf.add(zeros(shape), zeros([len])))).toMatch(/broadcast/);
      expect(() => tesseraShape('bias_add', [shape, [len]], {})).toThrow(
        new RegExp(`node 'y' \\(bias_add\\): bias \\[${len}\\] must match the channel dimension ${shape[shape.length - 1]}`),
      );
    }
  });

  test.prop([smallShape(8), dataSpec], params)('relu: shape and values equal tf.relu exactly, zeros and negatives included', (shape, xs) => {
    const x = floatData(numelOf(shape), xs);
    const { inferred, ref } = tesseraOneNode('relu', [{ shape, data: x }], {});
    const t = runTf(() => tf.relu(tf.tensor(x, [...shape])));
    expect(inferred).toEqual(t.shape);
    expect(ref.shape).toEqual(t.shape);
    expectWithinBound('relu', t.data, ref);
  });
});

// ---------------------------------------------------------------------------------------------
// reshape
// ---------------------------------------------------------------------------------------------

function primeFactors(n: number): number[] {
  const out: number[] = [];
  for (let p = 2; p * p <= n; p++) while (n % p === 0) (out.push(p), (n /= p));
  if (n > 1) out.push(n);
  return out;
}

/** An input shape and a target with the same count (its prime factors dealt to the target's dims), maybe one -1. */
const reshapeCase = fc
  .record({
    input: fc.array(int(1, 6), { minLength: 1, maxLength: 4 }),
    rank: int(1, 4),
    deal: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
    inferAt: int(-2, 3),
    x: dataSpec,
  })
  .map((r) => {
    const dims = new Array<number>(r.rank).fill(1);
    primeFactors(numelOf(r.input)).forEach((p, i) => (dims[r.deal[i] % r.rank] *= p));
    const target = dims.map((d, i) => (i === r.inferAt ? -1 : d));
    return { input: r.input as Shape, target, x: r.x };
  });

describe('reshape', () => {
  test.prop([reshapeCase], params)(
    'reshape: shape (with -1 inferred) and row-major values equal tf.reshape exactly',
    ({ input, target, x: xs }) => {
      const x = floatData(numelOf(input), xs);
      const { inferred, ref } = tesseraOneNode('reshape', [{ shape: input, data: x }], { shape: target });
      const t = runTf(() => tf.reshape(tf.tensor(x, [...input]), target));
      expect(inferred).toEqual(t.shape);
      expect(ref.shape).toEqual(t.shape);
      expectWithinBound('reshape', t.data, ref);
    },
  );

  test('reshape: a count mismatch, a -1 that does not divide, and two -1 are rejected by both', () => {
    const cases: [Shape, number[], RegExp][] = [
      [[2, 6], [5, 2], /cannot reshape \[2,6\] \(12 elements\) to \[5,2\] \(10 elements\)/],
      [[14, 14, 64], [12545], /cannot reshape \[14,14,64\] \(12544 elements\) to \[12545\]/],
      [[2, 6], [-1, 5], /12 is not a multiple of 5/],
      [[2, 6], [-1, -1], /more than one -1/],
    ];
    for (const [input, target, message] of cases) {
      expect(tfRejection(() => tf.reshape(zeros(input), target))).toBeDefined();
      expect(() => tesseraShape('reshape', [input], { shape: target })).toThrow(new RegExp(`node 'y' \\(reshape\\): .*${message.source}`));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// matmul
// ---------------------------------------------------------------------------------------------

const matmulCase = fc
  .record({
    kind: fc.constantFrom('rank2', 'batched', 'sharedB'),
    batch: int(1, MAX_BATCH),
    m: int(1, MAX_SPATIAL),
    k: int(1, MAX_SPATIAL),
    n: int(1, MAX_SPATIAL),
    transposeA: fc.boolean(),
    transposeB: fc.boolean(),
    a: dataSpec,
    b: dataSpec,
  })
  .map((r) => {
    const a2 = r.transposeA ? [r.k, r.m] : [r.m, r.k];
    const b2 = r.transposeB ? [r.n, r.k] : [r.k, r.n];
    const a: Shape = r.kind === 'rank2' ? a2 : [r.batch, ...a2];
    const b: Shape = r.kind === 'batched' ? [r.batch, ...b2] : b2;
    return { ...r, aShape: a, bShape: b };
  });

describe('matmul', () => {
  test.prop([matmulCase], params)(
    'matmul: shape and values equal tf.matMul for rank 2, batched rank 3 and a rank-3 a with a shared rank-2 b, with any transposeA / transposeB',
    (c) => {
      const a = floatData(numelOf(c.aShape), c.a);
      const b = floatData(numelOf(c.bShape), c.b);
      const { inferred, ref } = tesseraOneNode(
        'matmul',
        [
          { shape: c.aShape, data: a },
          { shape: c.bShape, data: b },
        ],
        { transposeA: c.transposeA, transposeB: c.transposeB },
      );
      const t = runTf(() => tf.matMul(tf.tensor(a, [...c.aShape]), tf.tensor(b, [...c.bShape]), c.transposeA, c.transposeB));
      expect(inferred).toEqual(t.shape);
      expect(ref.shape).toEqual(t.shape);
      expectWithinBound('matmul', t.data, ref);
    },
  );

  test('matmul: different inner dimensions (with and without transposes) and different batch sizes are rejected by both', () => {
    const cases: [Shape, Shape, boolean, boolean, RegExp][] = [
      [[3, 4], [3, 5], false, false, /inner dimensions differ: a \[3,4\] has 4 columns, b \[3,5\] has 3 rows/],
      [[3, 4], [4, 5], true, false, /inner dimensions differ: a \[3,4\] \(transposed\) has 3 columns/],
      [[2, 3, 4], [2, 4, 5], false, true, /b \[2,4,5\] \(transposed\) has 5 rows/],
      [[2, 3, 4], [3, 4], false, false, /inner dimensions differ: a \[2,3,4\] has 4 columns, b \[3,4\] has 3 rows/],
      [[2, 3, 4], [3, 4, 5], false, false, /batch dimensions differ: a \[2,3,4\], b \[3,4,5\]/],
    ];
    for (const [a, b, tA, tB, message] of cases) {
      expect(tfRejection(() => tf.matMul(zeros(a), zeros(b), tA, tB))).toBeDefined();
      expect(() => tesseraShape('matmul', [a, b], { transposeA: tA, transposeB: tB })).toThrow(
        new RegExp(`node 'y' \\(matmul\\): .*${message.source}`),
      );
    }
  });
});

// ---------------------------------------------------------------------------------------------
// add and mul (NumPy broadcasting), relu6, pad, concat
// ---------------------------------------------------------------------------------------------

/**
 * Two shapes that broadcast: an output shape of rank 0..4 and, per operand, a suffix of it (a
 * lower rank) with some dimensions 1; equal shapes, a channel vector and a scalar often.
 */
const broadcastPair = fc
  .record({
    out: fc.array(int(1, 6), { minLength: 0, maxLength: 4 }),
    forms: fc.tuple(int(0, 4), int(0, 4)),
    ones: fc.tuple(fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 })),
    drops: fc.tuple(int(0, 4), int(0, 4)),
  })
  .map(({ out, forms, ones, drops }) => {
    const operand = (form: number, one: boolean[], drop: number): Shape => {
      if (form <= 1) return [...out];
      if (form === 2) return out.length ? [out[out.length - 1]] : [];
      if (form === 3) return [];
      return out.slice(Math.min(drop, out.length)).map((d, i) => (one[i] ? 1 : d));
    };
    return { a: operand(forms[0], ones[0], drops[0]), b: operand(forms[1], ones[1], drops[1]) };
  });

/** Two shapes that do not broadcast: some aligned pair of dimensions both above 1 and different. */
const clashingPair = fc
  .record({ shape: fc.array(int(1, 5), { minLength: 1, maxLength: 4 }), at: fc.nat(), d: int(2, 5), e: int(2, 5), drop: int(0, 3) })
  .filter(({ d, e }) => d !== e)
  .map(({ shape, at, d, e, drop }) => {
    const a = [...shape];
    const k = at % a.length;
    a[k] = d;
    const b = a.slice(Math.min(drop, k));
    b[b.length - (a.length - k)] = e;
    return { a: a as Shape, b: b as Shape };
  });

describe('add and mul', () => {
  for (const op of ['add', 'mul'] as const) {
    test.prop([broadcastPair, dataSpec, dataSpec], params)(
      `${op}: shape and values equal tf.${op} with NumPy broadcasting (either operand, scalars, size-1 axes), within one rounding`,
      ({ a, b }, as, bs) => {
        const x = floatData(numelOf(a), as);
        const y = floatData(numelOf(b), bs);
        const { inferred, ref } = tesseraOneNode(op, [{ shape: a, data: x }, { shape: b, data: y }], {});
        const t = runTf(() => tf[op](tf.tensor(x, [...a]), tf.tensor(y, [...b])));
        expect(inferred).toEqual(t.shape);
        expect(ref.shape).toEqual(t.shape);
        expectWithinBound(op, t.data, ref);
      },
    );

    test.prop([clashingPair], params)(`${op}: shapes that do not broadcast are rejected by both`, ({ a, b }) => {
      expect(tfRejection(() => tf[op](zeros(a), zeros(b)))).toMatch(/broadcast/);
      expect(() => tesseraShape(op, [a, b], {})).toThrow(new RegExp(`node 'y' \\(${op}\\): a \\[.*\\] and b \\[.*\\] cannot be broadcast`));
    });
  }
});

describe('relu6', () => {
  /** Scales around 6 (2^2 .. 2^3) a third of the time, so both clamps are hit. */
  const relu6Data = fc.oneof(dataSpec, dataSpec.map((d) => ({ ...d, scale: 2 + (d.scale & 1), spread: d.spread % 2 })));
  test.prop([smallShape(8), relu6Data], params)('relu6: shape and values equal tf.relu6 exactly, both clamps included', (shape, xs) => {
    const x = floatData(numelOf(shape), xs);
    const { inferred, ref } = tesseraOneNode('relu6', [{ shape, data: x }], {});
    const t = runTf(() => tf.relu6(tf.tensor(x, [...shape])));
    expect(inferred).toEqual(t.shape);
    expect(ref.shape).toEqual(t.shape);
    expect(ref.bound.every((b) => b === 0)).toBe(true);
    expectWithinBound('relu6', t.data, ref);
  });
});

describe('pad', () => {
  const padCase = fc.record({
    shape: fc.array(int(1, 6), { minLength: 1, maxLength: 4 }),
    pads: fc.array(fc.tuple(int(0, 4), int(0, 4)), { minLength: 4, maxLength: 4 }),
    value: fc.oneof(fc.constant(0), fc.constantFrom(-1, 6, 0.5, -3.25), fc.float({ noNaN: true, noDefaultInfinity: true })),
    x: dataSpec,
  });
  test.prop([padCase], params)('pad: shape and values equal tf.pad (constant mode) exactly, any rank, pads and value', ({ shape, pads, value, x: xs }) => {
    const x = floatData(numelOf(shape), xs);
    const paddings = shape.map((_, i) => pads[i]);
    const attrs = value === 0 ? { paddings } : { paddings, value };
    const { inferred, ref } = tesseraOneNode('pad', [{ shape, data: x }], attrs);
    const t = runTf(() => tf.pad(tf.tensor(x, [...shape]), paddings, value));
    expect(inferred).toEqual(t.shape);
    expect(ref.shape).toEqual(t.shape);
    // Exact (a subnormal value's bound allows a device to flush it).
    expect(ref.bound.every((b, i) => b === 0 || Math.abs(ref.value[i]) < 2 ** -126)).toBe(true);
    expectWithinBound('pad', t.data, ref);
  });

  test('pad: paddings that are not one pair per dimension are rejected (TensorFlow rejects them; tfjs does not check and returns a malformed tensor)', () => {
    for (const [shape, paddings] of [
      [[2, 3], [[1, 1]]],
      [[2], [[0, 1], [1, 0]]],
    ] as [Shape, [number, number][]][]) {
      const tfShape = tf.tidy(() => [...tf.pad(zeros(shape), paddings).shape]);
      expect(tfShape.length !== shape.length || tfShape.some((d) => !(d >= 1))).toBe(true);
      expect(() => tesseraShape('pad', [shape], { paddings })).toThrow(/node 'y' \(pad\): paddings has \d+ \[before, after\] pairs for input/);
    }
  });
});

describe('concat', () => {
  const concatCase = fc
    .record({
      shape: fc.array(int(1, 5), { minLength: 1, maxLength: 4 }),
      axis: fc.nat(),
      negative: fc.boolean(),
      sizes: fc.array(int(1, 5), { minLength: 1, maxLength: 6 }),
      data: fc.array(dataSpec, { minLength: 6, maxLength: 6 }),
    })
    .map((r) => {
      const axis = r.axis % r.shape.length;
      const shapes = r.sizes.map((d) => r.shape.map((s, i) => (i === axis ? d : s)) as Shape);
      return { shapes, axis: r.negative ? axis - r.shape.length : axis, data: r.data };
    });

  test.prop([concatCase], params)('concat: shape and values equal tf.concat exactly, 1 to 6 operands, any axis, negative axes', ({ shapes, axis, data }) => {
    const xs = shapes.map((s, k) => floatData(numelOf(s), data[k]));
    const { inferred, ref } = tesseraOneNode('concat', shapes.map((shape, k) => ({ shape, data: xs[k] })), { axis });
    const t = runTf(() => tf.concat(shapes.map((s, k) => tf.tensor(xs[k], [...s])), axis));
    expect(inferred).toEqual(t.shape);
    expect(ref.shape).toEqual(t.shape);
    expectWithinBound('concat', t.data, ref);
  });

  test('concat: a dimension other than the axis that differs, and ranks that differ, are rejected by both', () => {
    const cases: [Shape[], number, RegExp][] = [
      [[[2, 3], [2, 4]], 0, /values\[1\] \[2,4\] differs from values\[0\] \[2,3\] on dimension 1/],
      [[[1, 4, 4, 3], [1, 4, 5, 3]], -1, /on dimension 2 \(5 against 4\)/],
      [[[2, 3], [2, 3, 1]], 1, /values\[1\] \[2,3,1\] has rank 3/],
    ];
    for (const [shapes, axis, message] of cases) {
      expect(tfRejection(() => tf.concat(shapes.map((s) => zeros(s)), axis))).toBeDefined();
      expect(() => tesseraShape('concat', shapes, { axis })).toThrow(new RegExp(`node 'y' \\(concat\\): .*${message.source}`));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Non-finite values, where tfjs-cpu follows the same rules (docs/SEMANTICS.md). Two places where
// it does not are documented there, not asserted here: tfjs-cpu's conv2d skips padded taps (an
// Inf weight at the border gives Inf, Tessera's zero-padding gives 0 * Inf = NaN), and its
// maxPool compares with `>`, so a NaN in a window is dropped (Tessera: NaN wins).
// ---------------------------------------------------------------------------------------------

describe('transpose', () => {
  const transposeCase = fc
    .array(fc.oneof(int(1, 5), fc.constantFrom(1, 31, 32, 33)), { minLength: 1, maxLength: 6 })
    .filter((shape) => numelOf(shape) <= 1 << 14)
    .chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        perm: fc.shuffledSubarray([...shape.keys()], { minLength: shape.length, maxLength: shape.length }),
        reversed: fc.boolean(),
        x: dataSpec,
      }),
    );
  test.prop([transposeCase], params)('transpose: shape and values equal tf.transpose exactly, ranks 1..6, any perm or the default', ({ shape, perm, reversed, x: xs }) => {
    const x = floatData(numelOf(shape), xs);
    const { inferred, ref } = tesseraOneNode('transpose', [{ shape, data: x }], reversed ? {} : { perm });
    const t = runTf(() => tf.transpose(tf.tensor(x, [...shape]), reversed ? undefined : perm));
    expect(inferred).toEqual(t.shape);
    expect(ref.shape).toEqual(t.shape);
    expect(ref.bound.every((b) => b === 0)).toBe(true);
    expectWithinBound('transpose', t.data, ref);
  });

  test('transpose: a perm of the wrong length or with an axis out of range is rejected by both tfjs and the builder; a repeated axis by the builder (TensorFlow rejects it; tfjs does not check and returns a malformed tensor)', () => {
    for (const [shape, perm] of [
      [[2, 3], [0]],
      [[2, 3], [0, 2]],
    ] as [Shape, number[]][]) {
      expect(tfRejection(() => tf.transpose(zeros(shape), perm))).toBeDefined();
      expect(() => tesseraShape('transpose', [shape], { perm })).toThrow(/node 'y' \(transpose\): perm \[[\d,]*\] (has \d+ entries for an input of rank|is not a permutation)/);
    }
    expect(tf.tidy(() => [...tf.transpose(zeros([2, 3, 4]), [0, 1, 1]).shape])).toEqual([2, 3, 3]);
    expect(() => tesseraShape('transpose', [[2, 3, 4]], { perm: [0, 1, 1] })).toThrow("node 'y' (transpose): perm [0,1,1] is not a permutation of 0..2");
  });
});

describe('non-finite values', () => {
  const NaN32 = Number.NaN;
  const Inf = Number.POSITIVE_INFINITY;

  test('relu, bias_add and matmul propagate NaN and +-Inf like tfjs (relu(NaN) = NaN, Inf - Inf = NaN, 0 * Inf = NaN)', () => {
    const x = Float32Array.from([NaN32, -Inf, Inf, -0, -2, 3]);
    const relu = tesseraOneNode('relu', [{ shape: [6], data: x }], {});
    expectWithinBound('relu', runTf(() => tf.relu(tf.tensor1d(x))).data, relu.ref);

    const v = Float32Array.from([Inf, -Inf, 1, NaN32, Inf, 5]);
    const bias = Float32Array.from([-Inf, 2, Inf]);
    const add = tesseraOneNode(
      'bias_add',
      [
        { shape: [2, 3], data: v },
        { shape: [3], data: bias },
      ],
      {},
    );
    const tAdd = runTf(() => tf.add(tf.tensor2d(v, [2, 3]), tf.tensor1d(bias)));
    expect(Array.from(add.ref.value)).toEqual([NaN32, -Inf, Inf, NaN32, Inf, Inf]);
    expectWithinBound('bias_add', tAdd.data, add.ref);

    const a = Float32Array.from([Inf, 0, 1, 1, -Inf, Inf]);
    const b = Float32Array.from([0, 1, 2, 3]);
    const mm = tesseraOneNode(
      'matmul',
      [
        { shape: [3, 2], data: a },
        { shape: [2, 2], data: b },
      ],
      {},
    );
    // rows: [Inf, 0] -> [Inf*0 + 0*2, Inf*1 + 0*3] = [NaN, Inf]; [1, 1] -> [2, 4]; [-Inf, Inf] -> [NaN, NaN]
    expect(Array.from(mm.ref.value)).toEqual([NaN32, Inf, 2, 4, NaN32, NaN32]);
    expectWithinBound('matmul', runTf(() => tf.matMul(tf.tensor2d(a, [3, 2]), tf.tensor2d(b, [2, 2]))).data, mm.ref);
  });

  test('add, mul and relu6 propagate NaN and +-Inf like tfjs (Inf - Inf = NaN, 0 * Inf = NaN, relu6(NaN) = NaN)', () => {
    const a = Float32Array.from([Inf, -Inf, NaN, 0, Inf, -0]);
    const b = Float32Array.from([-Inf, 2, 1, Inf, 0, 3]);
    for (const op of ['add', 'mul'] as const) {
      const r = tesseraOneNode(op, [{ shape: [6], data: a }, { shape: [6], data: b }], {});
      expectWithinBound(op, runTf(() => tf[op](tf.tensor1d(a), tf.tensor1d(b))).data, r.ref);
    }
    expect(Array.from(tesseraOneNode('add', [{ shape: [6], data: a }, { shape: [6], data: b }], {}).ref.value)).toEqual([NaN32, -Inf, NaN32, Inf, Inf, 3]);
    expect(Array.from(tesseraOneNode('mul', [{ shape: [6], data: a }, { shape: [6], data: b }], {}).ref.value)).toEqual([-Inf, -Inf, NaN32, NaN32, NaN32, -0]);
    const x = Float32Array.from([NaN32, -Inf, Inf, -0, 6, 7]);
    const r6 = tesseraOneNode('relu6', [{ shape: [6], data: x }], {});
    const t6 = runTf(() => tf.relu6(tf.tensor1d(x))).data;
    expectWithinBound('relu6', t6, r6.ref);
    expect(Object.is(t6[3], 0) && Object.is(r6.ref.value[3], 0)).toBe(true);
  });

  test('conv2d VALID (no padded taps): an Inf input gives Inf where its weight is finite and nonzero, NaN where it is 0, like tfjs', () => {
    const x = Float32Array.from([1, 2, 3, 4, Inf, 6, 7, 8, 9]);
    const f = Float32Array.from([1, 0, 0, 1]);
    const conv = tesseraOneNode(
      'conv2d',
      [
        { shape: [1, 3, 3, 1], data: x },
        { shape: [2, 2, 1, 1], data: f },
      ],
      { padding: 'VALID' },
    );
    // windows: [1,2,4,Inf] -> 1 + Inf = Inf; [2,3,Inf,6] -> 2 + 0*Inf + 6 = NaN; [4,Inf,7,8] -> 0*Inf -> NaN; [Inf,6,8,9] -> Inf
    expect(Array.from(conv.ref.value)).toEqual([Inf, NaN32, NaN32, Inf]);
    const t = runTf(() => tf.conv2d(tf.tensor4d(x, [1, 3, 3, 1]), tf.tensor4d(f, [2, 2, 1, 1]), 1, 'valid'));
    expectWithinBound('conv2d', t.data, conv.ref);
  });
});

// ---------------------------------------------------------------------------------------------
// The conformance suite's oracle (`tessera conformance --oracle tfjs`): the same code, on the
// suite's own cases (sizes past the block edges, random and pass-shaped graphs).
// ---------------------------------------------------------------------------------------------

/** Fewer runs than the one-op properties above: these cases reach K, N of 2,048. */
const ORACLE_RUNS = Math.max(30, Math.floor(RUNS / 4));

describe('the tfjs oracle of the conformance suite', () => {
  const sources = [
    ...OP_NAMES_UNDER_TEST.map((op) => ({ name: op, arb: opCaseArbitrary(op) })),
    { name: 'random graphs', arb: graphArbitrary() },
    { name: 'pass-shaped graphs', arb: passGraphArbitrary() },
  ];
  for (const { name, arb } of sources) {
    test(`${name}: every case's float64 reference agrees with TensorFlow.js within its bound (the oracle finds no disagreement)`, async () => {
      const oracle = await tfjsOracle();
      await fc.assert(
        fc.asyncProperty(arb, async (c) => {
          const disagreement = await checkAgainstOracle(oracle, c.graph, c.feeds, evaluate(c.graph, c.feeds));
          expect(disagreement?.summary).toBeUndefined();
        }),
        { numRuns: ORACLE_RUNS, seed: SEED },
      );
    }, 120_000);
  }
});
