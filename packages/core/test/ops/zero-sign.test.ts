import { describe, expect, test } from 'vitest';
import { GraphBuilder, OPS, evaluate, exactRef, refTensor, type RefTensor } from '../../src/index.js';
import { reference } from './reference.js';

/** The signs of the zeros of a reference, where specified: '+0' / '-0', '.' for unspecified or non-zero. */
function zeroSigns(t: RefTensor): string {
  return Array.from(t.value, (v, i) => (v === 0 && t.zeroSign?.[i] ? (Object.is(v, -0) ? '-0' : '+0') : '.')).join(' ');
}

const pool = { ksize: [2, 1], strides: [2, 1], padding: 'VALID' };

describe('the sign of zero in the reference (docs/SEMANTICS.md, "The sign of zero")', () => {
  test('inputs and constants are exact: every zero keeps its sign', () => {
    expect(zeroSigns(exactRef([3], Float32Array.of(-0, 0, 1)))).toBe('-0 +0 .');
  });

  test('relu gives +0 for every x <= 0 (-0 included), specified', () => {
    const y = reference('relu', [[[4], [-0, 0, -2, 3]]], {});
    expect(zeroSigns(y)).toBe('+0 +0 +0 .');
  });

  test('relu of an unspecified zero or of a value with error is still a specified +0', () => {
    const x = refTensor([2], Float64Array.of(0, -1e-9), Float64Array.of(1e-6, 1e-6));
    expect(zeroSigns(OPS.relu.reference([x], {}, [2]))).toBe('+0 +0');
  });

  test('conv2d, matmul, bias_add and the fused ops without relu leave it unspecified', () => {
    expect(reference('matmul', [[[1, 1], [-0]], [[1, 1], [1]]], {}).zeroSign).toBeUndefined();
    expect(reference('conv2d', [[[1, 1, 1, 1], [-0]], [[1, 1, 1, 1], [1]]], { padding: 'VALID' }).zeroSign).toBeUndefined();
    expect(reference('bias_add', [[[2], [-0, 1]], [[2], [-0, -1]]], {}).zeroSign).toBeUndefined();
    expect(reference('fused_matmul', [[[1, 1], [-0]], [[1, 1], [1]], [[1], [-0]]], {}).zeroSign).toBeUndefined();
  });

  test('the fused ops with relu or relu6: every zero is a specified +0', () => {
    const y = reference('fused_matmul', [[[1, 2], [-1, 0]], [[2, 3], [1, 1, 0, 0, 0, 0]], [[3], [1, -0, 2]]], { activation: 'relu' });
    expect(Array.from(y.value)).toEqual([0, 0, 2]);
    expect(zeroSigns(y)).toBe('+0 +0 .');
    const c = reference('fused_conv2d', [[[1, 1, 1, 1], [-0]], [[1, 1, 1, 1], [1]], [[1], [-0]]], { padding: 'VALID', activation: 'relu' });
    expect(zeroSigns(c)).toBe('+0');
    const six = reference('fused_matmul', [[[1, 2], [-1, 4]], [[2, 2], [1, 0, 0, 1]], [[2], [1, 3]]], { activation: 'relu6' });
    expect(Array.from(six.value)).toEqual([0, 6]);
    expect(zeroSigns(six)).toBe('+0 .');
  });

  test('maxpool: a zero max has its cells’ sign when they agree, unspecified when they do not', () => {
    // Windows (channels last, 2 cells each): [-0, -0], [+0, +0], [-0, +0], [-0, -1], [+0, -1].
    const y = reference('maxpool', [[[1, 2, 1, 5], [-0, 0, -0, -0, 0, -0, 0, 0, -1, -1]]], pool);
    expect(zeroSigns(y)).toBe('-0 +0 . -0 +0');
  });

  test('maxpool: a cell that may be zero with either sign on a device (error bound, subnormal) unspecifies it', () => {
    const x = { ...refTensor([1, 2, 1, 3], Float64Array.of(-0, -0, -0, -1e-9, -1e-40, -1), Float64Array.of(0, 0, 0, 1e-6, 0, 0)), zeroSign: Uint8Array.of(1, 1, 1, 1, 1, 1) };
    expect(zeroSigns(OPS.maxpool.reference([x], OPS.maxpool.attrs.parse(pool), [1, 1, 1, 3]))).toBe('. . -0');
  });

  test('reshape and slice carry the signs; a graph’s outputs keep them through evaluate', () => {
    const g = new GraphBuilder('signs');
    const x = g.input('x', [1, 2, 1, 2]);
    const r = g.reshape(g.relu(x), [4]);
    const p = g.maxpool(x, pool as never);
    const graph = g.build({ r, p, s: g.op('slice', [x], { begin: [0, 1, 0, 0], size: [1, 1, 1, 2], strides: [1, 1, 1, 1] }) });
    const out = evaluate(graph, { x: Float32Array.of(-0, 3, -0, -0) });
    expect(zeroSigns(out.r)).toBe('+0 . +0 +0');
    expect(zeroSigns(out.p)).toBe('-0 .');
    expect(zeroSigns(out.s)).toBe('-0 -0');
  });
});
