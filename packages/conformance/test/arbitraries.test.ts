import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { convGeometry, matmulGeometry, poolGeometry, summarize, type Conv2dAttrs, type MaxpoolAttrs, type MatmulAttrs } from '@tessera/core';
import { OP_NAMES_UNDER_TEST, opCaseArbitrary, type ConformanceCase } from '../src/index.js';
import { checkWellFormed } from './well-formed.js';
import { CASE_MACS } from '../src/arbitraries.js';

const SAMPLES = 200;

const sample = (arb: fc.Arbitrary<ConformanceCase>) => fc.sample(arb, { numRuns: SAMPLES, seed: 20240601 });
const allData = (c: ConformanceCase) => [...Object.values(c.feeds), ...[...c.graph.constants.values()].map((t) => t.data)];

describe('opCaseArbitrary', () => {
  for (const op of OP_NAMES_UNDER_TEST) {
    it(`${op}: one-node graphs that verify and whose reference is finite (${SAMPLES} samples)`, () => {
      fc.assert(
        fc.property(opCaseArbitrary(op), (c) => {
          expect(c.graph.nodes.map((n) => n.op)).toEqual([op]);
          checkWellFormed(c);
        }),
        { numRuns: SAMPLES, seed: 1 },
      );
    });
  }

  it('rejects an op it has no cases for', () => {
    expect(() => opCaseArbitrary('sigmoid')).toThrow(/no conformance cases for op 'sigmoid'/);
  });

  it('conv2d covers SAME (asymmetric pads), VALID, explicit, dilations, stride vs kernel, non-constant filters', () => {
    const seen = new Set<string>();
    for (const c of sample(opCaseArbitrary('conv2d'))) {
      const n = c.graph.nodes[0];
      const g = convGeometry(c.graph.value(n.inputs[0]).shape, c.graph.value(n.inputs[1]).shape, n.attrs as Conv2dAttrs);
      const padding = (n.attrs as Conv2dAttrs).padding;
      seen.add(typeof padding === 'string' ? padding : 'explicit');
      if (padding === 'SAME' && (g.padTop !== g.padBottom || g.padLeft !== g.padRight)) seen.add('same-asymmetric');
      if (g.dilationH > 1 || g.dilationW > 1) seen.add('dilated');
      if (g.strideH > g.kH) seen.add('stride>kernel');
      if (g.kH > g.strideH) seen.add('kernel>stride');
      if (g.batch > 1) seen.add('batch');
      if (c.graph.kind('filter') === 'input') seen.add('filter-input');
      if (c.graph.kind('filter') === 'constant') seen.add('filter-constant');
    }
    expect([...seen].sort()).toEqual(
      ['SAME', 'VALID', 'batch', 'dilated', 'explicit', 'filter-constant', 'filter-input', 'kernel>stride', 'same-asymmetric', 'stride>kernel'].sort(),
    );
  });

  it('transpose covers ranks 1..6, the default perm, identity and non-identity perms, dimensions past a 32-wide tile', () => {
    const seen = new Set<string>();
    for (const c of sample(opCaseArbitrary('transpose'))) {
      const n = c.graph.nodes[0];
      const shape = c.graph.value(n.inputs[0]).shape;
      const perm = (n.attrs as { perm?: number[] }).perm;
      seen.add(`rank${shape.length}`);
      if (!perm) seen.add('default');
      else if (perm.every((p, i) => p === i)) seen.add('identity');
      else seen.add('permuted');
      if (shape.some((d) => d > 32)) seen.add('past-tile');
    }
    expect([...seen].sort()).toEqual(['default', 'identity', 'past-tile', 'permuted', 'rank1', 'rank2', 'rank3', 'rank4', 'rank5', 'rank6']);
  });

  it('data mixes zeros, negatives and magnitudes from below 1e-15 to above 1e12', () => {
    let zeros = 0;
    let negatives = 0;
    let tiny = 0;
    let huge = 0;
    let wideInOneTensor = 0;
    for (const c of sample(opCaseArbitrary('matmul'))) {
      for (const d of allData(c)) {
        let lo = Infinity;
        let hi = 0;
        for (const v of d) {
          if (v === 0) zeros++;
          if (v < 0) negatives++;
          if (v !== 0 && Math.abs(v) < 1e-15) tiny++;
          if (Math.abs(v) > 1e12) huge++;
          if (v !== 0) {
            lo = Math.min(lo, Math.abs(v));
            hi = Math.max(hi, Math.abs(v));
          }
        }
        if (hi / lo > 1e20) wideInOneTensor++;
      }
    }
    expect(Math.min(zeros, negatives, tiny, huge, wideInOneTensor)).toBeGreaterThan(0);
  });

  it('maxpool has windows with exact ties, SAME and VALID, strides above and below the window', () => {
    const seen = new Set<string>();
    for (const c of sample(opCaseArbitrary('maxpool'))) {
      const n = c.graph.nodes[0];
      const attrs = n.attrs as MaxpoolAttrs;
      const g = poolGeometry(c.graph.inputs[0].shape, attrs);
      seen.add(attrs.padding);
      if (g.strideH > g.kH) seen.add('stride>kernel');
      if (g.kH > g.strideH) seen.add('kernel>stride');
      const x = c.feeds.x;
      // A tie: the first window's maximum appears twice in it.
      const vals: number[] = [];
      for (let ky = 0; ky < g.kH; ky++)
        for (let kx = 0; kx < g.kW; kx++) {
          const iy = ky - g.padTop;
          const ix = kx - g.padLeft;
          if (iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW) vals.push(x[(iy * g.inW + ix) * g.inC]);
        }
      const max = Math.max(...vals);
      if (vals.filter((v) => v === max).length > 1) seen.add('tie');
    }
    expect([...seen].sort()).toEqual(['SAME', 'VALID', 'kernel>stride', 'stride>kernel', 'tie']);
  });

  it('matmul covers both transposes, rank 2, rank 3 with a rank-3 b and with a shared rank-2 b, and K up to ~100', () => {
    const seen = new Set<string>();
    let maxK = 0;
    for (const c of sample(opCaseArbitrary('matmul'))) {
      const n = c.graph.nodes[0];
      const a = c.graph.value(n.inputs[0]).shape;
      const b = c.graph.value(n.inputs[1]).shape;
      const g = matmulGeometry(a, b, n.attrs as MatmulAttrs);
      maxK = Math.max(maxK, g.k);
      seen.add(`a${a.length}b${b.length}`);
      if (g.transposeA) seen.add('tA');
      if (g.transposeB) seen.add('tB');
    }
    expect([...seen].sort()).toEqual(['a2b2', 'a3b2', 'a3b3', 'tA', 'tB']);
    expect(maxK).toBeGreaterThan(80);
  });

  it('add and mul cover equal shapes, a channel vector, a scalar, operand 0 the smaller, size-1 axes and x op x', () => {
    const seen = { equal: 0, vector: 0, scalar: 0, firstSmaller: 0, ones: 0, same: 0, constant: 0 };
    for (const op of ['add', 'mul']) {
      for (const c of sample(opCaseArbitrary(op))) {
        const n = c.graph.nodes[0];
        const [a, b] = n.inputs.map((v) => c.graph.value(v).shape);
        const out = n.output.shape;
        if (n.inputs[0] === n.inputs[1]) seen.same++;
        else if (a.join() === b.join()) seen.equal++;
        if (b.length === 1 && out.length > 1) seen.vector++;
        if (a.length === 0 || b.length === 0) seen.scalar++;
        if (a.join() !== out.join()) seen.firstSmaller++;
        if ([...a, ...b].includes(1) && out.some((d) => d > 1)) seen.ones++;
        if (c.graph.kind(n.inputs[1]) === 'constant') seen.constant++;
      }
    }
    for (const [k, v] of Object.entries(seen)) expect(v, k).toBeGreaterThan(10);
  });

  it('relu6 reaches past 6 with exact ties at 6; pad covers every rank, zero and non-zero values and pads on every side', () => {
    const values = sample(opCaseArbitrary('relu6')).flatMap((c) => Array.from(c.feeds.x));
    expect(values.filter((v) => v === 6).length).toBeGreaterThan(10);
    expect(values.filter((v) => v > 6).length).toBeGreaterThan(10);
    const pads = sample(opCaseArbitrary('pad')).map((c) => c.graph.nodes[0].attrs as { paddings: [number, number][]; value: number });
    expect(new Set(pads.map((p) => p.paddings.length))).toEqual(new Set([0, 1, 2, 3, 4]));
    expect(pads.filter((p) => p.value !== 0).length).toBeGreaterThan(SAMPLES / 4);
    expect(pads.filter((p) => Object.is(p.value, -0)).length).toBeGreaterThan(0);
    expect(pads.filter((p) => p.paddings.some(([b, a]) => b > 0 && a > 0)).length).toBeGreaterThan(SAMPLES / 4);
  });

  it('concat joins 1 to 5 operands on every axis, negative axes, constants and repeated operands', () => {
    const seen = { one: 0, many: 0, negative: 0, constant: 0, repeated: 0, first: 0, last: 0 };
    for (const c of sample(opCaseArbitrary('concat'))) {
      const n = c.graph.nodes[0];
      const axis = (n.attrs as { axis: number }).axis;
      const rank = n.output.shape.length;
      if (n.inputs.length === 1) seen.one++;
      if (n.inputs.length >= 4) seen.many++;
      if (axis < 0) seen.negative++;
      if (n.inputs.some((v) => c.graph.kind(v) === 'constant')) seen.constant++;
      if (new Set(n.inputs).size < n.inputs.length) seen.repeated++;
      if ((axis + rank) % rank === 0) seen.first++;
      if ((axis + rank) % rank === rank - 1 && rank > 1) seen.last++;
    }
    for (const [k, v] of Object.entries(seen)) expect(v, k).toBeGreaterThan(5);
  });

  it('reshape targets include -1', () => {
    const withInferred = sample(opCaseArbitrary('reshape')).filter((c) => (c.graph.nodes[0].attrs.shape as number[]).includes(-1));
    expect(withInferred.length).toBeGreaterThan(SAMPLES / 4);
  });

  it('avg_pool and depthwise_conv2d cover SAME with odd padding totals, VALID, explicit pads, channels past block edges and not multiples of 4', () => {
    const seen = new Set<string>();
    for (const op of ['avg_pool', 'depthwise_conv2d']) {
      for (const c of sample(opCaseArbitrary(op))) {
        const n = c.graph.nodes[0];
        const x = c.graph.value(n.inputs[0]).shape;
        const attrs = n.attrs as Conv2dAttrs;
        const g = op === 'avg_pool' ? poolGeometry(x, n.attrs as MaxpoolAttrs) : convGeometry(x, c.graph.value(n.inputs[1]).shape, attrs, true);
        const padding = typeof attrs.padding === 'string' ? attrs.padding : 'explicit';
        seen.add(`${op}:${padding}`);
        if (padding === 'SAME' && ((g.padTop + g.padBottom) % 2 === 1 || (g.padLeft + g.padRight) % 2 === 1)) seen.add(`${op}:same-odd`);
        if (g.inC > 16 && g.inC % 4 !== 0) seen.add(`${op}:channels`);
        if (g.outC > g.inC) seen.add(`${op}:multiplier`);
        expect(summarize(c.graph).totalMacs).toBeLessThanOrEqual(2 * CASE_MACS);
      }
    }
    const want = ['SAME', 'VALID', 'explicit', 'same-odd', 'channels'].flatMap((k) => [`avg_pool:${k}`, `depthwise_conv2d:${k}`]);
    expect([...seen].sort()).toEqual([...want, 'depthwise_conv2d:multiplier'].sort());
  });

  it('mean reduces leading, inner, trailing and global-pool axes, negative axes, with and without keepdims', () => {
    const seen = new Set<string>();
    for (const c of sample(opCaseArbitrary('mean'))) {
      const n = c.graph.nodes[0];
      const { axes, keepdims } = n.attrs as { axes: number[]; keepdims: boolean };
      const x = c.graph.value(n.inputs[0]).shape;
      const norm = axes.map((a) => (a < 0 ? a + x.length : a));
      seen.add(keepdims ? 'keepdims' : 'dropdims');
      if (axes.some((a) => a < 0)) seen.add('negative');
      if (x.length === 4 && norm.join() === '1,2') seen.add('global');
      if (norm.includes(x.length - 1)) seen.add('last');
      if (norm.includes(0) && x.length > 1) seen.add('first');
      if (norm.reduce((p, a) => p * x[a], 1) > 256) seen.add('count>256');
    }
    expect([...seen].sort()).toEqual(['count>256', 'dropdims', 'first', 'global', 'keepdims', 'last', 'negative']);
  });

  it('softmax rows are long and short, with logits past exp\'s float32 range', () => {
    let large = 0;
    let long = 0;
    for (const c of sample(opCaseArbitrary('softmax'))) {
      const x = c.feeds.logits;
      if (x.some((v) => Math.abs(v) > 89)) large++;
      if (c.graph.inputs[0].shape.at(-1)! > 512) long++;
    }
    expect(large).toBeGreaterThan(SAMPLES / 4);
    expect(long).toBeGreaterThan(5);
  });

  it('batch_norm variances are non-negative, some near zero, with channels past block edges', () => {
    let nearZero = 0;
    let channels = 0;
    for (const c of sample(opCaseArbitrary('batch_norm'))) {
      const variance = c.feeds.variance ?? c.graph.constants.get('variance')!.data;
      expect(variance.every((v) => v >= 0)).toBe(true);
      if (variance.some((v) => v < 1e-6)) nearZero++;
      if (variance.length > 16 && variance.length % 4 !== 0) channels++;
    }
    expect(nearZero).toBeGreaterThan(SAMPLES / 4);
    expect(channels).toBeGreaterThan(5);
  });
});
