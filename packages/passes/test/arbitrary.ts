import fc from 'fast-check';
import { GraphBuilder, Tensor, prng, type Graph, type Padding, type SymbolicValue } from '@tessera/core';
import { randomFeeds } from '../src/compare.js';
import { CNN_STEP_KINDS, cnnStep, type StepContext } from './arbitrary-cnn.js';

/*
 * Random graphs for the passes' property tests, biased towards what the passes match:
 * conv -> bias -> relu chains, 1x1 convs with strides, a conv followed by a 1x1 conv, reshape
 * chains, matmul -> bias (-> relu), dead branches, constant subgraphs, intermediates with a second
 * consumer and intermediates that are graph outputs, and the real-CNN steps of arbitrary-cnn.ts
 * (batch norms, pads, relu6, residual adds, fused nodes of every activation). A graph is a list of small "steps" that
 * fast-check draws and shrinks; the builder interprets them deterministically.
 * (@tessera/conformance's graphArbitrary is the general one; this one targets the passes.)
 */

export interface GraphCase {
  readonly graph: Graph;
  readonly feeds: Record<string, Float32Array>;
}

export interface Step {
  readonly kind: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
  readonly d: number;
  readonly e: number;
}

export const STEP_KINDS = [
  'conv',
  'conv->1x1',
  'strided-1x1',
  'reshape-chain',
  'flatten-matmul',
  'matmul',
  'maxpool',
  'constant-bias',
  'constant-filter',
  'dead-branch',
  'shared-intermediate',
  'fused-then-relu',
  'slice',
  'transpose-pair',
  'nchw-flatten',
  ...CNN_STEP_KINDS,
] as const;

const step: fc.Arbitrary<Step> = fc.record({
  kind: fc.nat({ max: STEP_KINDS.length - 1 }),
  a: fc.nat({ max: 1000 }),
  b: fc.nat({ max: 1000 }),
  c: fc.nat({ max: 1000 }),
  d: fc.nat({ max: 1000 }),
  e: fc.nat({ max: 1000 }),
});

export function passGraphArbitrary({ minOps = 1, maxOps = 10 }: { minOps?: number; maxOps?: number } = {}): fc.Arbitrary<GraphCase> {
  return fc
    .record({
      seed: fc.nat(),
      n: fc.integer({ min: 1, max: 2 }),
      h: fc.integer({ min: 2, max: 7 }),
      w: fc.integer({ min: 2, max: 7 }),
      c: fc.integer({ min: 1, max: 4 }),
      steps: fc.array(step, { minLength: minOps, maxLength: maxOps }),
      extraOutput: fc.option(fc.nat({ max: 1000 }), { nil: undefined }),
    })
    .map((p) => {
      const graph = buildGraph(p);
      return { graph, feeds: randomFeeds(graph, p.seed + 1) };
    });
}

/**
 * Builds the graph of a list of steps. Operands are picked anywhere in the pool of values built so
 * far (which makes dead branches and shared values common), or with `recent` among the last three
 * (long, mostly live chains, for benchmarks).
 */
export function buildGraph(p: { seed: number; n: number; h: number; w: number; c: number; steps: readonly Step[]; extraOutput?: number; recent?: boolean }): Graph {
  const g = new GraphBuilder('random');
  const rand = prng(p.seed);
  let constants = 0;
  const tensor = (shape: number[], scale: number, map: (v: number) => number = (v) => v) => {
    const t = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < t.length; i++) t[i] = map((rand() * 2 - 1) * scale);
    return g.constant(`k${constants++}`, new Tensor(shape, t));
  };
  const filter = (k: number, cin: number, cout: number) => tensor([k, k, cin, cout], 1 / Math.sqrt(k * k * cin));
  const pool4: SymbolicValue[] = [g.input('x', [p.n, p.h, p.w, p.c])];
  const pool2: SymbolicValue[] = [];
  let last: SymbolicValue = pool4[0];
  const push = (v: SymbolicValue) => {
    (v.shape.length === 4 ? pool4 : pool2).push(v);
    last = v;
  };
  const pick4 = (i: number) => (p.recent ? pool4[pool4.length - 1 - (i % Math.min(3, pool4.length))] : pool4[i % pool4.length]);
  const paddingFor = (sel: number, k: number, dil: number, x: SymbolicValue): Padding => {
    const span = (k - 1) * dil + 1;
    const choice = sel % 4;
    if (choice === 1 && x.shape[1] >= span && x.shape[2] >= span) return 'VALID';
    if (choice === 2) {
      const pads: Padding = [
        [sel % 2, (sel >> 1) % 2],
        [(sel >> 2) % 2, (sel >> 3) % 2],
      ];
      if (x.shape[1] + pads[0][0] + pads[0][1] >= span && x.shape[2] + pads[1][0] + pads[1][1] >= span) return pads;
    }
    if (choice === 3 && k === 1) return [[0, 0], [0, 0]];
    return 'SAME';
  };
  const conv = (x: SymbolicValue, k: number, cout: number, sel: number, opts: { stride?: number; bias?: boolean; relu?: boolean } = {}) => {
    const stride = opts.stride ?? 1;
    const dil = stride === 1 && k > 1 && sel % 5 === 0 ? 2 : 1;
    const padding = paddingFor(sel >> 3, k, dil, x);
    let y = g.conv2d(x, filter(k, x.shape[3], cout), { strides: [stride, stride], padding, dilations: [dil, dil] });
    if (opts.bias) y = g.biasAdd(y, tensor([cout], 0.5));
    if (opts.relu) y = g.relu(y);
    return y;
  };

  const context: StepContext = { g, tensor, filter, pick4, push, paddingFor };
  for (const s of p.steps) {
    const kind = STEP_KINDS[s.kind];
    switch (kind) {
      case 'conv': {
        const k = [1, 2, 3, 3][s.b % 4];
        push(conv(pick4(s.a), k, 1 + (s.c % 5), s.d, { stride: s.e % 4 === 0 ? 2 : 1, bias: s.e % 3 !== 0, relu: s.e % 5 < 3 }));
        break;
      }
      case 'conv->1x1': {
        const x = pick4(s.a);
        const mid = 1 + (s.c % 6);
        const first = s.b % 3 === 0 ? g.op('fused_conv2d', [x, filter(3, x.shape[3], mid), tensor([mid], 0.5)], { strides: [1, 1], padding: paddingFor(s.d, 3, 1, x), activation: 'none' }) : conv(x, [1, 2, 3][s.b % 3], mid, s.d, { bias: s.e % 2 === 0 });
        push(conv(first, 1, 1 + (s.e % 4), s.d >> 4, { bias: s.b % 2 === 0, relu: s.e % 3 === 0 }));
        break;
      }
      case 'strided-1x1':
        push(conv(pick4(s.a), 1, 1 + (s.c % 5), s.d, { stride: 2 + (s.b % 2), bias: s.e % 2 === 0, relu: s.e % 4 < 2 }));
        break;
      case 'reshape-chain': {
        const x = pick4(s.a);
        const [n, h, w, c] = x.shape;
        let y = g.reshape(x, s.b % 2 ? [n, h * w, c] : [n * h, w * c]);
        if (s.c % 3 === 0) y = g.reshape(y, [-1]);
        y = g.reshape(y, s.d % 2 ? [n, h, w, c] : [n, h, -1, c]);
        if (s.e % 3 === 0) y = g.reshape(y, [n, h, w, c]); // identity
        push(y);
        break;
      }
      case 'flatten-matmul': {
        const x = pick4(s.a);
        const [n, h, w, c] = x.shape;
        const m = 1 + (s.c % 6);
        let y = g.matmul(g.reshape(x, [n, h * w * c]), tensor([h * w * c, m], 1 / Math.sqrt(h * w * c)));
        if (s.d % 3 !== 0) y = g.biasAdd(y, tensor([m], 0.5));
        if (s.e % 2 === 0) y = g.relu(y);
        push(y);
        if (s.b % 2 === 0) push(g.reshape(y, [n, 1, 1, m]));
        break;
      }
      case 'matmul': {
        const x = pool2.length ? pool2[s.a % pool2.length] : g.reshape(pick4(s.a), [pool4[0].shape[0], -1]);
        const k = x.shape[1];
        const m = 1 + (s.c % 5);
        let y = g.matmul(x, tensor([k, m], 1 / Math.sqrt(k)));
        if (s.d % 4 !== 0) y = g.biasAdd(y, tensor([m], 0.5));
        if (s.e % 2 === 0) y = g.relu(y);
        push(y);
        break;
      }
      case 'maxpool': {
        const x = pick4(s.a);
        push(g.maxpool(x, s.b % 2 ? { ksize: [2, 2], strides: [2, 2], padding: 'SAME' } : { ksize: [3, 3], strides: [1, 1], padding: 'SAME' }));
        break;
      }
      case 'constant-bias': {
        // bias = relu(reshape(matmul(A [C, k], B [k, 1]))): a constant subgraph that constant folding removes.
        const x = pick4(s.a);
        const c = x.shape[3];
        const k = 1 + (s.b % 3);
        const col = g.matmul(tensor([c, k], 1), tensor([k, 1], 1));
        let bias = g.reshape(col, [c]);
        if (s.c % 2 === 0) bias = g.relu(bias);
        push(g.biasAdd(x, bias));
        break;
      }
      case 'constant-filter': {
        // A filter that is a reshape of a constant: constant only after folding (then lowering / composition apply at O2).
        const x = pick4(s.a);
        const k = s.b % 2 ? 1 : 3;
        const cout = 1 + (s.c % 4);
        const flat = tensor([k * k * x.shape[3] * cout], 1 / Math.sqrt(k * k * x.shape[3]));
        const f = g.reshape(flat, [k, k, x.shape[3], cout]);
        let y = g.conv2d(x, f, { strides: [1, 1], padding: 'SAME' });
        if (s.d % 2 === 0) y = g.relu(g.biasAdd(y, tensor([cout], 0.5)));
        push(y);
        break;
      }
      case 'dead-branch': {
        const x = pick4(s.a);
        g.relu(conv(x, 1, 1 + (s.c % 3), s.d, { bias: true })); // never used
        break;
      }
      case 'shared-intermediate': {
        // conv -> bias_add -> relu where the conv or the bias_add has a second consumer.
        const x = pick4(s.a);
        const cout = 1 + (s.c % 4);
        const cv = g.conv2d(x, filter(3, x.shape[3], cout), { strides: [1, 1], padding: 'SAME' });
        const b = g.biasAdd(cv, tensor([cout], 0.5));
        push(g.relu(b));
        push(g.maxpool(s.b % 2 ? cv : b, { ksize: [2, 2], strides: [1, 1], padding: 'SAME' }));
        break;
      }
      case 'fused-then-relu': {
        const x = pick4(s.a);
        const cout = 1 + (s.c % 4);
        const k = s.b % 2 ? 1 : 3;
        push(g.relu(g.op('fused_conv2d', [x, filter(k, x.shape[3], cout), tensor([cout], 0.5)], { strides: [1, 1], padding: 'SAME', activation: 'none' })));
        break;
      }
      case 'slice': {
        const x = pick4(s.a);
        const [n, h, w, c] = x.shape;
        const sh = h > 2 ? 2 : 1;
        push(g.slice(x, { begin: [0, h > 1 ? s.b % 2 : 0, 0, 0], size: [n, Math.max(1, Math.floor((h - (h > 1 ? s.b % 2 : 0) - 1) / sh) + 1), w, c], strides: [1, sh, 1, 1] }));
        break;
      }
      case 'transpose-pair': {
        // NHWC -> NCHW, a layout-agnostic op, NCHW -> NHWC (or a random perm, left alone when nothing cancels it).
        const x = pick4(s.a);
        const perm = s.b % 3 === 2 ? [0, 2, 1, 3] : [0, 3, 1, 2];
        let y = g.transpose(x, perm);
        if (s.c % 3 === 0) y = g.relu(y);
        else if (s.c % 3 === 1) y = g.add(y, tensor([y.shape[3]], 0.5));
        push(s.d % 4 === 0 ? y : g.transpose(y, s.b % 3 === 2 ? [0, 2, 1, 3] : [0, 2, 3, 1]));
        break;
      }
      case 'nchw-flatten': {
        // An ONNX Flatten of an NCHW value before a dense layer.
        const x = pick4(s.a);
        const [n, h, w, c] = x.shape;
        const m = 1 + (s.c % 5);
        let y = g.matmul(g.reshape(g.transpose(x, [0, 3, 1, 2]), [n, -1]), tensor([c * h * w, m], 1 / Math.sqrt(c * h * w)));
        if (s.d % 2 === 0) y = g.biasAdd(y, tensor([m], 0.5));
        push(y);
        break;
      }
      default:
        cnnStep(kind, s, context);
    }
  }
  const outputs: Record<string, SymbolicValue> = { y: last };
  if (p.extraOutput !== undefined) {
    const all = [...pool4, ...pool2].filter((v) => v !== last && v.name !== 'x');
    if (all.length) outputs.extra = all[p.extraOutput % all.length];
  }
  return g.build(outputs);
}

/** The fast-check seed: TESSERA_SEED, or a fixed default. Printed so a failure can be replayed. */
export function testSeed(label: string, fallback = 0x7e55e7a): number {
  const env = process.env.TESSERA_SEED;
  const seed = env !== undefined && env !== '' ? Number(env) : fallback;
  if (!Number.isInteger(seed)) throw new Error(`TESSERA_SEED must be an integer, got '${env}'`);
  console.log(`[${label}] fast-check seed ${seed} (set TESSERA_SEED to replay or vary)`);
  return seed;
}
