import { describe, expect, test } from 'vitest';
import { seedCnn } from '@tessera/examples';
import { GraphBuilder, Tensor, TesseraError, summarize } from '../src/index.js';

describe('GraphBuilder errors name the node, the op and what was expected', () => {
  const g = new GraphBuilder('errors');
  const x = g.input('x', [1, 28, 28, 3]);

  test('filter in_channels mismatch', () => {
    const w = g.constant('w4', new Tensor([3, 3, 4, 8]));
    expect(() => g.conv2d(x, w, { padding: 'SAME', name: 'conv1' })).toThrow(
      "node 'conv1' (conv2d): filter in_channels 4 does not match input channels 3 (input [1,28,28,3] NHWC, filter [3,3,4,8] HWIO)",
    );
  });

  test('reshape count mismatch', () => {
    expect(() => g.reshape(x, [1, 2000], { name: 'flat' })).toThrow(
      "node 'flat' (reshape): cannot reshape [1,28,28,3] (2352 elements) to [1,2000] (2000 elements)",
    );
  });

  test('VALID window larger than the input', () => {
    const w = g.constant('w29', new Tensor([29, 1, 3, 1]));
    expect(() => g.conv2d(x, w, { padding: 'VALID', name: 'big' })).toThrow(
      /^node 'big' \(conv2d\): VALID window of height 29 \(kernel 29, dilation 1\) is larger than the input height 28$/,
    );
  });

  test('bias length mismatch', () => {
    expect(() => g.biasAdd(x, g.constant('b5', new Tensor([5])), { name: 'bias' })).toThrow(
      "node 'bias' (bias_add): bias [5] must match the channel dimension 3",
    );
  });

  test('matmul inner dimensions', () => {
    const a = g.input('a', [4, 6]);
    expect(() => g.matmul(a, g.constant('m', new Tensor([5, 2])), { name: 'fc' })).toThrow(
      "node 'fc' (matmul): inner dimensions differ: a [4,6] has 6 columns, b [5,2] has 5 rows",
    );
  });

  test('unknown and missing attributes', () => {
    const w = g.constant('w3', new Tensor([3, 3, 3, 8]));
    expect(() => g.conv2d(x, w, { padding: 'SAME', stride: [2, 2], name: 'c' } as never)).toThrow(/^node 'c' \(conv2d\): invalid attributes: .*stride/);
    expect(() => g.conv2d(x, w, { name: 'c' } as never)).toThrow(/^node 'c' \(conv2d\): invalid attributes: padding/);
    expect(() => g.relu(x, { name: 'r', alpha: 0.1 } as never)).toThrow(/^node 'r' \(relu\): invalid attributes: .*alpha/);
    expect(() => g.conv2d(x, w, { padding: 'SAME', strides: [0, 1], name: 'c' })).toThrow(/^node 'c' \(conv2d\): invalid attributes: strides\.0/);
  });

  test('operand count and input shapes', () => {
    expect(() => g.op('matmul', [x], { name: 'mm' })).toThrow("node 'mm' (matmul): expects 2 operands (a, b), got 1");
    expect(() => g.input('bad', [1, 0, 3])).toThrow("node 'bad' (input): input shape [1,0,3] has a dimension that is not a positive integer");
  });

  test('duplicate names: inputs, constants and nodes share one namespace', () => {
    const d = new GraphBuilder('dup');
    const a = d.input('a', [2, 2]);
    expect(() => d.input('a', [2, 2])).toThrow("the name 'a' is already used in graph 'dup'");
    expect(() => d.constant('a', new Tensor([2]))).toThrow("the name 'a' is already used in graph 'dup'");
    d.relu(a, { name: 'r' });
    expect(() => d.relu(a, { name: 'r' })).toThrow("the name 'r' is already used in graph 'dup'");
    expect(() => d.relu(a, { name: 'a' })).toThrow(TesseraError);
  });

  test('a call that fails adds nothing: its name stays free and default names count up per op', () => {
    const b = new GraphBuilder('names');
    const a = b.input('a', [2, 3]);
    expect(() => b.reshape(a, [4], { name: 'r' })).toThrow();
    expect(b.reshape(a, [3, 2], { name: 'r' }).shape).toEqual([3, 2]);
    expect([b.relu(a).name, b.relu(a).name, b.relu(a, { name: 'relu_3' }).name, b.relu(a).name]).toEqual(['relu_1', 'relu_2', 'relu_3', 'relu_4']);
  });
});

describe('textbook shapes and parameter counts', () => {
  test('conv 3x3 SAME on 28x28x1 -> maxpool 2x2/2 -> 14x14x64 -> reshape 12544 -> fully connected 10 scores', () => {
    const g = new GraphBuilder('lenet-ish');
    const x = g.input('x', [1, 28, 28, 1]);
    const conv = g.conv2d(x, g.constant('w', new Tensor([3, 3, 1, 64])), { padding: 'SAME' });
    const pool = g.maxpool(conv, { ksize: [2, 2], strides: [2, 2], padding: 'VALID' });
    const flat = g.reshape(pool, [1, -1]);
    const fc = g.matmul(flat, g.constant('fc', new Tensor([12544, 10])));
    expect([conv.shape, pool.shape, flat.shape, fc.shape]).toEqual([
      [1, 28, 28, 64],
      [1, 14, 14, 64],
      [1, 14 * 14 * 64],
      [1, 10],
    ]);
    expect(flat.shape[1]).toBe(12544);
  });

  test('the seed CNN summary: output shapes per node and 126090 parameters in total', () => {
    const graph = seedCnn();
    const s = summarize(graph);
    expect(s.rows.map((r) => [r.op, r.shape])).toEqual([
      ['conv2d', [1, 28, 28, 64]],
      ['bias_add', [1, 28, 28, 64]],
      ['relu', [1, 28, 28, 64]],
      ['maxpool', [1, 14, 14, 64]],
      ['reshape', [1, 12544]],
      ['matmul', [1, 10]],
      ['bias_add', [1, 10]],
    ]);
    // conv 3*3*1*64 + 64 biases, fully connected 12544*10 + 10 biases
    const expected = 3 * 3 * 1 * 64 + 64 + 12544 * 10 + 10;
    expect(expected).toBe(126090);
    expect(s.totalParams).toBe(expected);
    expect(s.rows.map((r) => r.params)).toEqual([576, 64, 0, 0, 0, 125440, 10]);
    // MACs: 28*28*64 outputs of 9 products, and 10 outputs of 12544
    expect(s.totalMacs).toBe(28 * 28 * 64 * 9 + 12544 * 10);
  });
});
