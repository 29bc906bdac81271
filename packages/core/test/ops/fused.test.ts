import { describe, expect, test } from 'vitest';
import { GraphBuilder, Tensor, evaluate, summarize, type Shape, type SymbolicValue } from '../../src/index.js';

/** Deterministic float32 data with mixed signs and magnitudes (a small LCG, independent of core). */
function data(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return ((s / 2 ** 32) * 2 - 1) * 2 ** ((s & 7) - 3);
  });
}
const numel = (s: Shape) => s.reduce((a, b) => a * b, 1);
/** The unfused chain's activation node. */
function activate(g: GraphBuilder, v: SymbolicValue, activation: 'none' | 'relu' | 'relu6'): SymbolicValue {
  return activation === 'relu' ? g.relu(v) : activation === 'relu6' ? g.relu6(v) : v;
}

describe('fused_conv2d and fused_matmul', () => {
  test.each(['none', 'relu', 'relu6'] as const)('fused_conv2d(activation=%s) equals conv2d -> bias_add (-> activation), values and bounds', (activation) => {
    const xs: Shape = [2, 6, 5, 3];
    const fs: Shape = [3, 2, 3, 4];
    const g = new GraphBuilder('f');
    const x = g.input('x', xs);
    const w = g.constant('w', new Tensor(fs, data(numel(fs), 2)));
    const b = g.constant('b', new Tensor([4], data(4, 3)));
    const attrs = { strides: [2, 1] as [number, number], padding: 'SAME' as const };
    const fused = g.fusedConv2d(x, w, b, { ...attrs, activation, name: 'fused' });
    const chain = activate(g, g.biasAdd(g.conv2d(x, w, attrs), b), activation);
    const out = evaluate(g.build({ fused, chain }), { x: data(numel(xs), 1) });
    expect(out.fused.shape).toEqual([2, 3, 5, 4]);
    expect(Array.from(out.fused.value)).toEqual(Array.from(out.chain.value));
    expect(Array.from(out.fused.bound)).toEqual(Array.from(out.chain.bound));
    if (activation !== 'none') expect(out.fused.value.some((v) => v === 0) && out.fused.value.every((v) => v >= 0)).toBe(true);
  });

  test.each(['none', 'relu', 'relu6'] as const)('fused_matmul(activation=%s) equals matmul -> bias_add (-> activation), rank 2 and rank 3', (activation) => {
    for (const [as, bs] of [
      [
        [5, 7],
        [7, 3],
      ],
      [
        [2, 5, 7],
        [7, 3],
      ],
    ] as const) {
      const g = new GraphBuilder('m');
      const a = g.input('a', as);
      const w = g.constant('w', new Tensor(bs, data(numel(bs), 5)));
      const b = g.constant('b', new Tensor([3], data(3, 6)));
      const fused = g.fusedMatmul(a, w, b, { activation });
      const chain = activate(g, g.biasAdd(g.matmul(a, w), b), activation);
      const out = evaluate(g.build({ fused, chain }), { a: data(numel(as), 4) });
      expect(Array.from(out.fused.value)).toEqual(Array.from(out.chain.value));
      expect(Array.from(out.fused.bound)).toEqual(Array.from(out.chain.bound));
    }
  });

  test('fused ops count the same params and MACs as the ops they replace; a bias of the wrong length is rejected', () => {
    const g = new GraphBuilder('p');
    const x = g.input('x', [1, 4, 4, 3]);
    const w = g.constant('w', new Tensor([3, 3, 3, 7]));
    const b = g.constant('b', new Tensor([7]));
    const y = g.fusedConv2d(x, w, b, { padding: 'SAME', activation: 'relu', name: 'fc' });
    const s = summarize(g.build({ y }));
    expect(s.rows[0].params).toBe(189 + 7);
    expect(s.rows[0].macs).toBe(4 * 4 * 7 * 3 * 3 * 3);
    expect(() => g.fusedConv2d(x, w, g.constant('b6', new Tensor([6])), { padding: 'SAME', name: 'bad' })).toThrow(
      /node 'bad' \(fused_conv2d\): bias \[6\] must match the channel dimension 7/,
    );
    const a = g.input('a', [2, 5]);
    expect(() => g.fusedMatmul(a, g.constant('m', new Tensor([5, 3])), b, { name: 'bad2' })).toThrow(
      /node 'bad2' \(fused_matmul\): bias \[7\] must match the channel dimension 3/,
    );
  });

  test.each(['none', 'relu', 'relu6'] as const)('fused_conv2d with a residual (activation=%s) equals conv2d -> bias_add -> add -> activation, values and bounds', (activation) => {
    const g = new GraphBuilder('r');
    const x = g.input('x', [1, 5, 4, 3]);
    const shortcut = g.input('s', [1, 5, 4, 2]);
    const w = g.constant('w', new Tensor([3, 3, 3, 2], data(54, 8)));
    const b = g.constant('b', new Tensor([2], data(2, 9)));
    const fused = g.fusedConv2d(x, w, b, { padding: 'SAME', activation, name: 'fused' }, shortcut);
    const chain = activate(g, g.add(g.biasAdd(g.conv2d(x, w, { padding: 'SAME' }), b), shortcut), activation);
    const out = evaluate(g.build({ fused, chain }), { x: data(60, 10), s: data(40, 11) });
    expect(Array.from(out.fused.value)).toEqual(Array.from(out.chain.value));
    expect(Array.from(out.fused.bound)).toEqual(Array.from(out.chain.bound));
    expect(out.fused.zeroSign === undefined).toBe(activation === 'none');
  });

  test('fused_conv2d takes 3 or 4 operands; a residual must have the output shape exactly', () => {
    const g = new GraphBuilder('a');
    const x = g.input('x', [1, 4, 4, 3]);
    const w = g.constant('w', new Tensor([1, 1, 3, 2]));
    const b = g.constant('b', new Tensor([2]));
    expect(() => g.fusedConv2d(x, w, b, { padding: 'VALID', name: 'bcast' }, g.input('r', [1, 1, 1, 2]))).toThrow(
      "node 'bcast' (fused_conv2d): residual [1,1,1,2] must have the output's shape [1,4,4,2] (no broadcasting)",
    );
    expect(() => g.op('fused_conv2d', [x, w], { padding: 'VALID', name: 'two' })).toThrow(
      "node 'two' (fused_conv2d): expects 3 or 4 operands (input, filter, bias, residual?), got 2",
    );
    expect(() => g.op('fused_conv2d', [x, w, b, b, b], { padding: 'VALID', name: 'five' })).toThrow(/expects 3 or 4 operands/);
  });
});
