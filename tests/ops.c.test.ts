/**
 * Issue 22, group c: batch_norm and depthwise_conv2d.
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
import { createWorkersBackend, type WorkersBackend } from '@tessera/backend-workers';
import { compareToReference, evaluate, GraphBuilder, Tensor, type Graph, type Shape, type SymbolicValue } from '@tessera/core';
import { createContainer, createSession, registerBackend } from '@tessera/runtime';
import { fc, test } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectBitIdentical } from './helpers/bits.js';
import { expectWithinBound, floatData, numelOf, propertySeed, runTf, tesseraOneNode, tesseraShape, tf, useTfjsCpu, type DataSpec } from './helpers/tfjs.js';

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

const container = createContainer();
let workers: WorkersBackend;

beforeAll(async () => {
  await useTfjsCpu();
  // Every step split, however small: ranges [start, end) really differ per thread.
  workers = createWorkersBackend({ threads: 2, inlineCost: 0, inlineGraphCost: 0, minPartCost: 0 });
  registerBackend(container, 'workers-split', () => workers);
  await workers.ready();
}, 120_000);

afterAll(async () => {
  await workers?.dispose();
});

/** Runs `graph` on cpu and split workers: both within the reference's bounds, and bit-identical to each other. */
async function expectBackendsAgree(graph: Graph, feeds: Record<string, Float32Array>, label: string): Promise<void> {
  const ref = evaluate(graph, feeds);
  const cpu = await createSession(graph, { backend: 'cpu' });
  const split = await createSession(graph, { backend: 'workers-split', container });
  try {
    const a = await cpu.run(feeds);
    const b = await split.run(feeds);
    for (const name of Object.keys(graph.outputs)) {
      for (const [backend, out] of [['cpu', a[name]], ['workers', b[name]]] as const) {
        const cmp = compareToReference(out, ref[name]);
        expect(cmp.ok, `${label}: ${backend} ${name}: worst ${cmp.worstRatio} x bound, first failure ${JSON.stringify(cmp.firstFailure)}`).toBe(true);
      }
      expectBitIdentical(b[name], a[name], `${label}: workers vs cpu`);
    }
  } finally {
    cpu.dispose();
    split.dispose();
  }
}

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
