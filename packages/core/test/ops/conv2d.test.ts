import { describe, expect, test } from 'vitest';
import { GraphBuilder, Tensor, summarize, type Shape } from '../../src/index.js';
import { reference } from './reference.js';


function shapeOf(input: Shape, filter: Shape, attrs: Record<string, unknown>): Shape {
  const g = new GraphBuilder('shape');
  return g.conv2d(g.input('x', input), g.input('f', filter), attrs as never).shape;
}

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const iota = (n: number, from = 1) => Array.from({ length: n }, (_, i) => i + from);

/** A naive VALID NHWC x HWIO conv on an explicitly zero-padded image, written independently of core. */
function naiveConv(
  x: number[], [n, h, w, c]: number[], f: number[], [kh, kw, , co]: number[],
  [t, b, l, r]: number[], [sh, sw]: number[], [dh, dw]: number[],
): { shape: number[]; data: number[] } {
  const ph = h + t + b;
  const pw = w + l + r;
  const padded = new Array(n * ph * pw * c).fill(0);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < h; y++)
      for (let z = 0; z < w; z++)
        for (let ch = 0; ch < c; ch++) padded[((i * ph + y + t) * pw + z + l) * c + ch] = x[((i * h + y) * w + z) * c + ch];
  const oh = Math.floor((ph - (kh - 1) * dh - 1) / sh) + 1;
  const ow = Math.floor((pw - (kw - 1) * dw - 1) / sw) + 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++)
    for (let y = 0; y < oh; y++)
      for (let z = 0; z < ow; z++)
        for (let o = 0; o < co; o++) {
          let s = 0;
          for (let a = 0; a < kh; a++)
            for (let bb = 0; bb < kw; bb++)
              for (let ch = 0; ch < c; ch++)
                s += padded[((i * ph + y * sh + a * dh) * pw + z * sw + bb * dw) * c + ch] * f[((a * kw + bb) * c + ch) * co + o];
          out.push(s);
        }
  return { shape: [n, oh, ow, co], data: out };
}

describe('conv2d shape inference', () => {
  test('5x5 input, 3x3 filter, stride 2: SAME gives 3x3 (ceil(5/2)), VALID gives 2x2 (floor((5-3)/2)+1)', () => {
    expect(shapeOf([1, 5, 5, 1], [3, 3, 1, 1], { strides: [2, 2], padding: 'SAME' })).toEqual([1, 3, 3, 1]);
    expect(shapeOf([1, 5, 5, 1], [3, 3, 1, 1], { strides: [2, 2], padding: 'VALID' })).toEqual([1, 2, 2, 1]);
  });

  test('SAME keeps ceil(in / stride) per axis whatever the kernel or dilation; VALID is ceil((in - (k-1)d) / s)', () => {
    expect(shapeOf([2, 7, 6, 3], [5, 2, 3, 4], { strides: [3, 4], padding: 'SAME' })).toEqual([2, 3, 2, 4]);
    expect(shapeOf([1, 9, 9, 1], [3, 3, 1, 1], { dilations: [3, 2], padding: 'SAME' })).toEqual([1, 9, 9, 1]);
    // height: ceil((9 - 2*3) / 1) = 3; width: ceil((9 - 2*2) / 1) = 5
    expect(shapeOf([1, 9, 9, 1], [3, 3, 1, 1], { dilations: [3, 2], padding: 'VALID' })).toEqual([1, 3, 5, 1]);
    // stride larger than the kernel: ceil((10 - 1) / 4) = 3, ceil((10 - 1) / 6) = 2
    expect(shapeOf([1, 10, 10, 1], [2, 2, 1, 1], { strides: [4, 6], padding: 'VALID' })).toEqual([1, 3, 2, 1]);
  });

  test('explicit [[top, bottom], [left, right]] padding: out = floor((in + top + bottom - span) / stride) + 1', () => {
    // height: (5 + 1 + 2 - 3) / 2 + 1 = 3 (floor 2.5 -> 2, + 1); width: (5 + 0 + 0 - 3) / 1 + 1 = 3
    expect(shapeOf([1, 5, 5, 2], [3, 3, 2, 1], { strides: [2, 1], padding: [[1, 2], [0, 0]] })).toEqual([1, 3, 3, 1]);
    // windows entirely inside the padding are allowed: (2 + 4 + 4 - 3) + 1 = 8
    expect(shapeOf([1, 2, 2, 1], [3, 3, 1, 1], { padding: [[4, 4], [4, 4]] })).toEqual([1, 8, 8, 1]);
  });

  test('rejections name the node and what was expected', () => {
    expect(() => shapeOf([1, 4, 4, 3], [3, 3, 2, 7], { padding: 'SAME' })).toThrow(/filter in_channels 2 does not match input channels 3/);
    expect(() => shapeOf([1, 2, 5, 1], [3, 3, 1, 1], { padding: 'VALID' })).toThrow(/VALID window of height 3 .* larger than the input height 2/);
    expect(() => shapeOf([1, 5, 2, 1], [3, 3, 1, 1], { padding: [[0, 0], [0, 0]] })).toThrow(/explicitly padded window of width 3 .* padded input width 2/);
    // dilation 3 makes a 2-tap window span 4 > 3
    expect(() => shapeOf([1, 3, 3, 1], [2, 1, 1, 1], { padding: 'VALID', dilations: [3, 1] })).toThrow(/window of height 4 \(kernel 2, dilation 3\)/);
    expect(() => shapeOf([1, 8, 8, 1], [2, 2, 1, 1], { padding: 'SAME', strides: [2, 1], dilations: [1, 2] })).toThrow(
      /strides \[2,1\] and dilations \[1,2\] cannot both exceed 1/,
    );
    expect(() => shapeOf([4, 4, 3], [3, 3, 3, 1], { padding: 'SAME' })).toThrow(/input must have rank 4/);
  });
});

describe('conv2d values', () => {
  test('SAME with an odd pad total puts the extra zero row / column after (bottom / right)', () => {
    // 4x4 image 1..16, 2x2 all-ones filter, stride 1: pad_total = 1 -> 0 before, 1 after.
    const y = reference('conv2d', [[[1, 4, 4, 1], iota(16)], [[2, 2, 1, 1], [1, 1, 1, 1]]], { padding: 'SAME' });
    expect(y.shape).toEqual([1, 4, 4, 1]);
    // out[0,0] = 1+2+5+6; out[0,3] = 4+8 (column 4 is padding); out[3,0] = 13+14; out[3,3] = 16
    expect(y.value[0]).toBe(14);
    expect(y.value[3]).toBe(12);
    expect(y.value[12]).toBe(27);
    expect(y.value[15]).toBe(16);
  });

  test('dilation 2 samples every other pixel: VALID 2x2 filter on 5x5 reads x[0,0], x[0,2], x[2,0], x[2,2]', () => {
    const y = reference('conv2d', [[[1, 5, 5, 1], iota(25)], [[2, 2, 1, 1], [1, 10, 100, 1000]]], { padding: 'VALID', dilations: [2, 2] });
    expect(y.shape).toEqual([1, 3, 3, 1]);
    expect(y.value[0]).toBe(1 * 1 + 3 * 10 + 11 * 100 + 13 * 1000);
    expect(y.value[8]).toBe(13 * 1 + 15 * 10 + 23 * 100 + 25 * 1000);
  });

  test.each([
    { input: [1, 5, 5, 2], filter: [3, 3, 2, 3], strides: [2, 2], dilations: [1, 1], pad: 'SAME', pads: [1, 1, 1, 1] },
    { input: [2, 6, 4, 1], filter: [3, 2, 1, 2], strides: [2, 3], dilations: [1, 1], pad: 'SAME', pads: [0, 1, 0, 1] },
    { input: [1, 4, 7, 3], filter: [2, 3, 3, 2], strides: [1, 1], dilations: [3, 2], pad: 'SAME', pads: [1, 2, 2, 2] },
    { input: [1, 5, 6, 2], filter: [3, 2, 2, 2], strides: [4, 5], dilations: [1, 1], pad: [[2, 0], [1, 3]], pads: [2, 0, 1, 3] },
  ] as const)('equals a naive conv on the explicitly zero-padded image (pads $pads for $pad)', ({ input, filter, strides, dilations, pad, pads }) => {
    const x = iota(numel(input), -20).map((v) => v / 4);
    const f = iota(numel(filter), -5).map((v) => v / 8);
    const y = reference('conv2d', [[input, x], [filter, f]], { padding: pad, strides, dilations });
    const want = naiveConv(x, [...input], f, [...filter], [...pads], [...strides], [...dilations]);
    expect(y.shape).toEqual(want.shape);
    expect(Array.from(y.value)).toEqual(want.data);
  });

  test('the bound of each output is 2 (K + 2) u sum|x w| + (K + 2) 2^-126, K = kh kw cin', () => {
    const y = reference('conv2d', [[[1, 3, 3, 2], [1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12, 13, -14, 15, -16, 17, -18]], [[3, 3, 2, 1], new Array(18).fill(0.5)]], { padding: 'VALID' });
    const k = 18;
    const absSum = 0.5 * ((18 * 19) / 2);
    expect(y.value[0]).toBe(0.5 * -9);
    expect(y.bound[0]).toBe(2 * (k + 2) * 2 ** -24 * absSum + (k + 2) * 2 ** -126);
  });
});

describe('conv2d non-finite values', () => {
  test('padded cells are zeros that take part in the products: an Inf weight that meets padding gives NaN', () => {
    // 3x3 ones, SAME 3x3 filter of ones except w[0,0] = Inf. w[0,0] reads pixel (y-1, x-1): padding on the top row / left column.
    const f = [Infinity, 1, 1, 1, 1, 1, 1, 1, 1];
    const y = reference('conv2d', [[[1, 3, 3, 1], new Array(9).fill(1)], [[3, 3, 1, 1], f]], { padding: 'SAME' });
    expect(Array.from(y.value)).toEqual([NaN, NaN, NaN, NaN, Infinity, Infinity, NaN, Infinity, Infinity]);
  });

  test('a NaN input reaches exactly the outputs whose window covers it; Inf x 0 weight is NaN, Inf x w > 0 is Inf', () => {
    const x = [NaN, 1, 1, 1, 1, 1, 1, 1, 1];
    const y = reference('conv2d', [[[1, 3, 3, 1], x], [[2, 2, 1, 1], [1, 1, 1, 1]]], { padding: 'VALID' });
    expect(Array.from(y.value)).toEqual([NaN, 4, 4, 4]);
    const z = reference('conv2d', [[[1, 2, 2, 1], [Infinity, 1, 1, 1]], [[1, 1, 1, 2], [0, 2]]], { padding: 'VALID' });
    expect(Array.from(z.value)).toEqual([NaN, Infinity, 0, 2, 0, 2, 0, 2]);
  });
});

describe('conv2d parameters', () => {
  test('a 3x3 filter over a 4x4x3 image with 7 output channels has 3*3*3*7 = 189 weights plus 7 biases', () => {
    const g = new GraphBuilder('textbook');
    const x = g.input('image', [1, 4, 4, 3]);
    const w = g.constant('w', new Tensor([3, 3, 3, 7]));
    const b = g.constant('b', new Tensor([7]));
    const y = g.biasAdd(g.conv2d(x, w, { padding: 'SAME', name: 'conv' }), b, { name: 'bias' });
    const s = summarize(g.build({ y }));
    expect(s.rows.map((r) => [r.node, r.params])).toEqual([
      ['conv', 189],
      ['bias', 7],
    ]);
    expect(s.totalParams).toBe(196);
    // 4x4 outputs x 7 channels, each a sum of 27 products
    expect(s.rows[0].macs).toBe(4 * 4 * 7 * 27);
  });
});
