/**
 * The conformance suite's conv2d and fused_conv2d properties (with their non-finite and extreme
 * values) on the cpu backend with Winograd forced for every eligible conv (`winograd: 'always'`,
 * on the wasm GEMM and on the TypeScript one) and with it off; and a property of conv cases that
 * are all eligible (3x3, stride 1, or 5x5 / 6x6, stride 2; dilation 1, a constant filter: the
 * suite's own cases rarely are), on cpu and on workers with every step split, checked by the suite's `checkCase`, which judges the nodes the session reports as
 * Winograd by the widened bound. Small counts: the full suite runs under `tessera conformance`.
 */
import { CpuBackend } from '@tessera/backend-cpu';
import { createWorkersBackend } from '@tessera/backend-workers';
import { CaseBuilder, checkCase, dataSpecArbitrary, type ConformanceCase } from '@tessera/conformance';
import { describeConformance } from '@tessera/conformance/vitest';
import { convGeometry, type Activation, type Padding } from '@tessera/core';
import { createContainer, createSession, registerBackend } from '@tessera/runtime';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

const SEED = process.env.TESSERA_SEED !== undefined ? Number(process.env.TESSERA_SEED) : 20_261_206;
const container = createContainer();
registerBackend(container, 'cpu-winograd', () => new CpuBackend({ winograd: 'always' }));
registerBackend(container, 'cpu-winograd-js', () => new CpuBackend({ winograd: 'always', gemm: 'js' }));
registerBackend(container, 'cpu-direct', () => new CpuBackend({ winograd: false }));
// One worker and the calling thread, every step split (tiles at any boundary): the workers' Winograd.
const workers = createWorkersBackend({ threads: 1, winograd: 'always', inlineCost: 0, minPartCost: 0, inlineGraphCost: 0 });
registerBackend(container, 'workers-winograd', () => workers);
afterAll(() => workers.dispose());

for (const backend of ['cpu-winograd', 'cpu-winograd-js', 'cpu-direct']) {
  describeConformance(backend, { container, seed: SEED, runs: 25, graphs: 0, ops: ['conv2d', 'fused_conv2d'] });
}

const data = dataSpecArbitrary({ maxExp: 14 });
const dim = (max: number) => fc.integer({ min: 1, max });

/**
 * A conv2d or fused_conv2d that Winograd F(4x4, 3x3) can run, with a constant filter and any
 * padding: 3x3, stride 1, dilation 1 ('winograd-f4x4'), or 5x5 / 6x6, stride 2 (on its phase
 * conv: 'winograd-f4x4-s2').
 */
const eligibleCase: fc.Arbitrary<{ readonly c: ConformanceCase; readonly algorithm: string }> = fc
  .record({
    k: fc.constantFrom(3, 5, 6), fused: fc.boolean(), batch: dim(2), h: dim(11), w: dim(11), cin: dim(20), cout: dim(20),
    padding: fc.constantFrom('SAME', 'VALID', 'EXPLICIT'), pads: fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3)),
    activation: fc.constantFrom<Activation>('none', 'relu', 'relu6'), residual: fc.boolean(),
    xd: data, wd: data, bd: data, rd: data,
  })
  .map((p) => {
    const [pt, pb, pl, pr] = p.pads;
    const padding: Padding = p.padding === 'SAME' ? 'SAME' : p.padding === 'VALID' ? 'VALID' : [[pt, pb], [pl, pr]];
    const stride = p.k === 3 ? 1 : 2;
    // At least one window (SAME always has one): the window less the explicit padding.
    const extent = (n: number, before: number, after: number) =>
      p.padding === 'SAME' ? n * stride : Math.max(n * stride, p.k - (p.padding === 'EXPLICIT' ? Math.min(before + after, p.k - 1) : 0));
    const h = extent(p.h, pt, pb);
    const w = extent(p.w, pl, pr);
    const strides: [number, number] = [stride, stride];
    const c = new CaseBuilder('winograd_case');
    const x = c.input('x', [p.batch, h, w, p.cin], p.xd);
    const f = c.operand('filter', [p.k, p.k, p.cin, p.cout], p.wd, 'constant');
    const algorithm = stride === 1 ? 'winograd-f4x4' : 'winograd-f4x4-s2';
    if (!p.fused) return { c: c.build({ y: c.b.conv2d(x, f, { padding, strides }) }), algorithm };
    const g = convGeometry(x.shape, f.shape, { padding, strides, dilations: [1, 1] });
    const bias = c.operand('bias', [p.cout], p.bd, 'constant');
    const residual = p.residual ? c.operand('residual', [g.batch, g.outH, g.outW, g.outC], p.rd, 'input') : undefined;
    return { c: c.build({ y: c.b.fusedConv2d(x, f, bias, { padding, strides, activation: p.activation }, residual) }), algorithm };
  });

describe('Winograd-eligible convs on the cpu and workers backends', () => {
  for (const backend of ['cpu-winograd', 'cpu-winograd-js', 'workers-winograd']) {
    it(`${backend} runs every one with Winograd and agrees with the reference within the widened bound (conformance checkCase)`, async () => {
      let worst = 0;
      await fc.assert(
        fc.asyncProperty(eligibleCase, async ({ c, algorithm }) => {
          const session = await createSession(c.graph, { backend, container });
          const algorithms = [...session.stats.algorithms.values()];
          session.dispose();
          expect(algorithms).toEqual([algorithm]);
          const outcome = await checkCase(c, { backend, container });
          expect(outcome.summary).toMatch(/^ok/);
          worst = Math.max(worst, outcome.worstRatio);
        }),
        { numRuns: 60, seed: SEED },
      );
      console.log(`${backend}: worst error ${worst.toExponential(2)} of the widened bound over 60 eligible convs`);
    });
  }
});
