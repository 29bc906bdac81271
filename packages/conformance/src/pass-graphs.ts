import type { Activation, SymbolicValue } from '@tessera/core';
import fc from 'fast-check';
import { activationArb } from './arbitraries.js';
import { CaseBuilder, type ConformanceCase } from './case.js';
import { dataSpecArbitrary, type DataSpec } from './data.js';

/*
 * Graphs shaped like a pass's input and like its output: the patterns passes rewrite (conv ->
 * bias -> relu, a conv then a 1x1 conv, reshape chains, matmul -> bias -> relu) and graphs
 * already optimized (fused_conv2d / fused_matmul with every flag: relu on and off, before a 1x1
 * conv that a composition would absorb). Random graphs rarely line two such nodes up.
 */

/** One block of a chain over a rank-4 value. */
interface Block {
  readonly kind: 'fused-then-1x1' | 'conv-bias-relu' | 'reshape-chain' | 'matmul-tail' | 'maxpool';
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
  kind: fc.constantFrom('fused-then-1x1', 'fused-then-1x1', 'conv-bias-relu', 'reshape-chain', 'matmul-tail', 'maxpool'),
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
  }
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
