/** What a box says: counts in short form, constants grouped by shape on their consumer, fused operands, outputs. */
import { GraphBuilder, randomTensor } from '@tessera/core';
import { describe, expect, it } from 'vitest';
import { compact, escapeXml, pictureOf, textOf } from '../src/index.js';

describe('picture model', () => {
  it('counts in three significant digits with k / M / G', () => {
    expect([0, 999, 1234, 451_584, 25_636_712, 3.9e9].map(compact)).toEqual(['0', '999', '1.23k', '452k', '25.6M', '3.9G']);
  });

  it('constants are a line on their consumer, grouped by shape; a fused residual and a graph output are named', () => {
    const b = new GraphBuilder('g');
    const x = b.input('x', [1, 4, 4, 3]);
    const c = (name: string, shape: number[]) => b.constant(name, randomTensor(shape, 1));
    const bn = b.batchNorm(x, c('m', [3]), c('v', [3]), c('o', [3]), c('s', [3]), { name: 'bn' });
    const y = b.fusedConv2d(bn, c('w', [1, 1, 3, 3]), c('bias', [3]), { strides: [1, 1], padding: 'VALID', activation: 'relu', name: 'conv' }, x);
    const picture = pictureOf(b.build({ y }));
    expect(picture.nodes.map((n) => n.id)).toEqual(['x', 'bn', 'conv']);
    const [, bnNode, conv] = picture.nodes;
    expect(bnNode.constants).toBe('mean, variance, offset, scale 3');
    expect(conv.role).toBe('fused');
    expect(conv.constants).toBe('filter 1×1×3×3 · bias 3');
    expect(conv.detail).toBe('relu · VALID · + residual');
    // 4 * 4 outputs per channel, 3 channels, 3 taps each.
    expect(conv.macs).toBe(144);
    expect(textOf(conv)).toEqual(['conv', 'fused_conv2d · relu · VALID · + residual', '1×4×4×3 · 144 MACs', 'filter 1×1×3×3 · bias 3', '⇒ output y']);
    expect(picture.edges).toEqual([
      { from: 'x', to: 'bn' },
      { from: 'bn', to: 'conv' },
      { from: 'x', to: 'conv' },
    ]);
  });

  it('escapes the five XML metacharacters', () => {
    expect(escapeXml(`a<b>&"c'`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;');
  });
});
