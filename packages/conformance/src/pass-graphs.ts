import type { Activation, SymbolicValue } from '@tessera/core';
import fc from 'fast-check';
import { activationArb } from './arbitraries.js';
import { CaseBuilder, type ConformanceCase } from './case.js';
import { dataSpecArbitrary, fillData, type DataSpec } from './data.js';

/*
 * Graphs shaped like a pass's input and like its output: the patterns passes rewrite (conv ->
 * bias -> relu, a conv then a 1x1 conv, reshape chains, matmul -> bias -> relu, conv / depthwise
 * conv -> batch_norm, zero pad -> conv, conv -> add(shortcut), each with relu / relu6 / nothing
 * after) and graphs already optimized (fused_conv2d / fused_matmul with every activation, before
 * a 1x1 conv that a composition would absorb). Random graphs rarely line two such nodes up.
 */

/** One block of a chain over a rank-4 value. */
interface Block {
  readonly kind: 'fused-then-1x1' | 'conv-bias-relu' | 'reshape-chain' | 'matmul-tail' | 'maxpool' | 'conv-bn' | 'pad-conv' | 'residual';
  /** conv-bn / pad-conv: a depthwise conv instead of a conv2d; residual: the conv has a bias_add. */
  readonly depthwise: boolean;
  /** The block's last activation (conv-bn, pad-conv, residual). */
  readonly act: Activation;
  /** First conv's kernel (1 or 3) and its activation. */
  readonly kernel: 1 | 3;
  readonly firstAct: Activation;
  /** How the 1x1 conv is written: conv2d, fused_conv2d (with `secondAct`), or conv2d + bias_add. */
  readonly second: 'conv2d' | 'fused_conv2d' | 'conv2d+bias';
  readonly secondAct: Activation;
  /** A relu after the block. */
  readonly reluAfter: boolean;
  readonly padding: 'SAME' | 'VALID';
  /** Channels of the first conv's output and of the block's output (1..8). */
  readonly mid: number;
  readonly out: number;
  readonly data: DataSpec;
  /** The block's input also becomes a graph output (a second consumer). */
  readonly branch: boolean;
}

const blockArb: fc.Arbitrary<Block> = fc.record({
  kind: fc.constantFrom('fused-then-1x1', 'fused-then-1x1', 'conv-bias-relu', 'reshape-chain', 'matmul-tail', 'maxpool', 'conv-bn', 'conv-bn', 'pad-conv', 'residual', 'residual'),
  depthwise: fc.boolean(),
  act: activationArb,
  kernel: fc.constantFrom<1 | 3>(1, 3),
  firstAct: activationArb,
  second: fc.constantFrom('conv2d', 'fused_conv2d', 'conv2d+bias'),
  secondAct: activationArb,
  reluAfter: fc.boolean(),
  padding: fc.constantFrom('SAME', 'VALID'),
  mid: fc.integer({ min: 1, max: 8 }),
  out: fc.integer({ min: 1, max: 8 }),
  data: dataSpecArbitrary({ maxExp: 1, minExp: -3 }),
  branch: fc.boolean(),
});

/** Appends one block; returns its output, or null once the chain ends (flattened to a matmul). */
function addBlock(c: CaseBuilder, x: SymbolicValue, b: Block, i: number): SymbolicValue | null {
  const cin = x.shape[3];
  const w = (name: string, shape: number[]) => c.operand(`b${i}/${name}`, shape, { ...b.data, seed: b.data.seed + name.length }, 'constant');
  const k = b.padding === 'VALID' && (x.shape[1] < 3 || x.shape[2] < 3) ? 1 : b.kernel;
  const geometry = { strides: [1, 1] as [number, number], padding: b.padding };
  switch (b.kind) {
    case 'fused-then-1x1': {
      const a = c.b.fusedConv2d(x, w('wA', [k, k, cin, b.mid]), w('bA', [b.mid]), { ...geometry, activation: b.firstAct });
      const wB = w('wB', [1, 1, b.mid, b.out]);
      const y =
        b.second === 'conv2d'
          ? c.b.conv2d(a, wB, geometry)
          : b.second === 'fused_conv2d'
            ? c.b.fusedConv2d(a, wB, w('bB', [b.out]), { ...geometry, activation: b.secondAct })
            : c.b.biasAdd(c.b.conv2d(a, wB, geometry), w('bB', [b.out]));
      return b.reluAfter ? c.b.relu(y) : y;
    }
    case 'conv-bias-relu': {
      const y = c.b.biasAdd(c.b.conv2d(x, w('w', [k, k, cin, b.out]), geometry), w('b', [b.out]));
      return b.reluAfter ? c.b.relu(y) : y;
    }
    case 'reshape-chain': {
      const [n, h, wd, ch] = x.shape;
      return c.b.reshape(c.b.reshape(x, [n, h * wd, ch]), [n, h, wd, ch]);
    }
    case 'maxpool':
      return c.b.maxpool(x, { ksize: [2, 2], strides: [b.kernel === 1 ? 1 : 2, 2], padding: 'SAME' });
    case 'matmul-tail':
      return null;
    case 'conv-bn':
      return activate(c, batchNorm(c, product(c, x, b, i, k, geometry), b, i), b.act);
    case 'pad-conv': {
      const padded = c.b.pad(x, { paddings: [[0, 0], [b.mid % 2, 1], [1, b.out % 3], [0, 0]] });
      return activate(c, product(c, padded, b, i, k, { strides: [1, 1], padding: b.padding }), b.act);
    }
    case 'residual': {
      // A ResNet shortcut: conv (+ bias) back to the input's channels, added to the input.
      const wr = w('wR', [k, k, cin, cin]);
      const conv = c.b.conv2d(x, wr, { strides: [1, 1], padding: 'SAME' });
      const y = b.depthwise ? c.b.biasAdd(conv, w('bR', [cin])) : conv;
      // Either operand order of the add (drawn by `firstAct`, unused otherwise here).
      return activate(c, b.firstAct === 'relu' ? c.b.add(x, y) : c.b.add(y, x), b.act);
    }
  }
}

/** A conv2d (or depthwise conv, multiplier 1) of the block with a constant filter. */
function product(c: CaseBuilder, x: SymbolicValue, b: Block, i: number, k: number, geometry: { strides: [number, number]; padding: 'SAME' | 'VALID' }): SymbolicValue {
  const cin = x.shape[3];
  const data = { ...b.data, seed: b.data.seed + 101 };
  if (b.depthwise) return c.b.depthwiseConv2d(x, c.operand(`b${i}/wD`, [k, k, cin, 1], data, 'constant'), geometry);
  return c.b.conv2d(x, c.operand(`b${i}/wC`, [k, k, cin, b.out], data, 'constant'), geometry);
}

/** batch_norm with constant statistics: variance in [0.5, 10), Keras' default epsilon 1e-3. */
function batchNorm(c: CaseBuilder, y: SymbolicValue, b: Block, i: number): SymbolicValue {
  const ch = y.shape[3];
  const stat = (name: string, k: number, map: (v: number) => number = (v) => v) =>
    c.operandData(`b${i}/bn_${name}`, [ch], fillData(ch, { ...b.data, seed: b.data.seed + k }).map(map), 'constant');
  return c.b.batchNorm(y, stat('mean', 11), stat('variance', 12, (v) => 0.5 + Math.min(Math.abs(v), 9)), stat('offset', 13), stat('scale', 14), { epsilon: 1e-3 });
}

function activate(c: CaseBuilder, y: SymbolicValue, act: Activation): SymbolicValue {
  return act === 'relu' ? c.b.relu(y) : act === 'relu6' ? c.b.relu6(y) : y;
}

/** A chain ends in a flatten and a matmul (fused or with bias_add and relu). */
function matmulTail(c: CaseBuilder, x: SymbolicValue, b: Block): SymbolicValue {
  const [n, h, w, ch] = x.shape;
  const flat = c.b.reshape(x, [n, h * w * ch]);
  const wt = c.operand('tail/w', [h * w * ch, b.out], b.data, 'constant');
  const bias = c.operand('tail/b', [b.out], b.data, 'constant');
  if (b.second === 'fused_conv2d') return c.b.fusedMatmul(flat, wt, bias, { activation: b.secondAct });
  const y = c.b.biasAdd(c.b.matmul(flat, wt), bias);
  return b.reluAfter ? c.b.relu(y) : y;
}

/** Random chains of pass patterns and already-fused nodes (every relu flag) over one NHWC input. */
export function passGraphArbitrary(): fc.Arbitrary<ConformanceCase> {
  return fc
    .record({
      input: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 6 })),
      inputData: dataSpecArbitrary({ maxExp: 1, minExp: -3 }),
      blocks: fc.array(blockArb, { minLength: 1, maxLength: 4 }),
    })
    .map(({ input, inputData, blocks }) => {
      const c = new CaseBuilder('pass_graph');
      let x = c.input('x', input, inputData);
      const outputs: Record<string, SymbolicValue> = {};
      for (const [i, b] of blocks.entries()) {
        if (b.branch && i > 0) outputs[`branch${i}`] = x;
        const y = addBlock(c, x, b, i);
        if (y === null) {
          x = matmulTail(c, x, b);
          break;
        }
        x = y;
      }
      outputs.y = x;
      return c.build(outputs);
    });
}
