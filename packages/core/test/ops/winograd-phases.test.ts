/**
 * A stride-2 conv with a 5x5 or 6x6 filter is the stride-1 3x3 VALID conv of its phase image and
 * phase filter (`phaseGeometry`, `phaseImageRows` by `phaseSource`, `phaseFilter`): what the backends' Winograd runs
 * for such convs ('winograd-f4x4-s2'). Checked here with the float64 reference alone, on both
 * graphs, so that a mistake in the rearrangement cannot hide behind the Winograd bound.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GraphBuilder, Tensor, convGeometry, evaluate, phaseFilter, phaseGeometry, phaseImageRows, prng, winogradPhasesEligible, type Padding } from '../../src/index.js';

const random = (n: number, seed: number) => {
  const r = prng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
};

const SEED = process.env.TESSERA_SEED !== undefined ? Number(process.env.TESSERA_SEED) : 20_261_207;

describe('stride-2 convs as phase convs', () => {
  it('the 3x3 VALID conv of the phase image and filter equals the stride-2 5x5 / 6x6 conv (float64 reference, any padding)', () => {
    const cases = fc.record({
      kh: fc.constantFrom(5, 6), kw: fc.constantFrom(5, 6), batch: fc.integer({ min: 1, max: 2 }),
      h: fc.integer({ min: 6, max: 15 }), w: fc.integer({ min: 6, max: 15 }), cin: fc.integer({ min: 1, max: 5 }), cout: fc.integer({ min: 1, max: 4 }),
      padding: fc.constantFrom('SAME', 'VALID', 'EXPLICIT'), pads: fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3)), seed: fc.nat(),
    });
    fc.assert(
      fc.property(cases, (p) => {
        const padding: Padding = p.padding === 'EXPLICIT' ? [[p.pads[0], p.pads[1]], [p.pads[2], p.pads[3]]] : p.padding;
        const xShape = [p.batch, p.h, p.w, p.cin];
        const fShape = [p.kh, p.kw, p.cin, p.cout];
        const g = convGeometry(xShape, fShape, { padding, strides: [2, 2], dilations: [1, 1] });
        expect(winogradPhasesEligible(g)).toBe(true);
        const x = random(p.batch * p.h * p.w * p.cin, p.seed);
        const filter = random(p.kh * p.kw * p.cin * p.cout, p.seed + 1);
        const strided = new GraphBuilder('strided');
        const y = strided.conv2d(strided.input('x', xShape), strided.constant('f', new Tensor(fShape, filter)), { padding, strides: [2, 2] });
        const expected = evaluate(strided.build({ y }), { x }).y;

        const pg = phaseGeometry(g);
        const image = pg.inH * pg.inW * pg.inC;
        const px = new Float32Array(pg.batch * image);
        for (let n = 0; n < pg.batch; n++) phaseImageRows(g, x, 0, n, 0, pg.inH, px, n * image);
        const pf = phaseFilter(g, filter, 0, new Float32Array(9 * pg.inC * pg.outC));
        const phased = new GraphBuilder('phased');
        const py = phased.conv2d(phased.input('x', [pg.batch, pg.inH, pg.inW, pg.inC]), phased.constant('f', new Tensor([3, 3, pg.inC, pg.outC], pf)), { padding: 'VALID' });
        const actual = evaluate(phased.build({ y: py }), { x: px }).y;

        expect(actual.shape).toEqual(expected.shape);
        // The same products, summed in another order (and with zeros): equal up to float64 rounding.
        for (let i = 0; i < expected.value.length; i++) expect(Math.abs(actual.value[i] - expected.value[i])).toBeLessThanOrEqual(1e-12 * (1 + Math.abs(expected.value[i])) * 25 * p.cin);
        // Every weight lands once in the phase filter, the rest are zeros.
        expect(pf.filter((v) => v !== 0).length).toBe(filter.filter((v) => v !== 0).length);
      }),
      { numRuns: 100, seed: SEED },
    );
  });
});
