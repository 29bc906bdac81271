/**
 * Winograd F(4x4, 3x3) (kernels/winograd.ts, kernels/wasm/winograd*.ts): the tables are the
 * algorithm (checked in float64 against the direct correlation, independently of the kernels);
 * the wasm transforms give the TypeScript transforms' bits for any geometry, epilogue, special
 * values and split of the tiles; the result is within the direct bound plus core's
 * `winogradAllowance`, which is not looser than the direct bound is; and a kernel built from a
 * transform with one wrong coefficient is caught by that bound.
 */
import { describe, expect, it } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import {
  GraphBuilder, Tensor, WINOGRAD_F4X4_3X3, evaluate, winogradAllowance, type Activation, type ConvGeometry, type Padding, type WinogradTransform,
} from '@tessera/core';
import { createContainer, createSession, registerBackend } from '@tessera/runtime';
import { CpuBackend } from '../../src/index.js';
import { createWasmArena } from '../../src/kernels/wasm/arena.js';
import { wasmSimdSupported } from '../../src/kernels/wasm/module.js';
import { WasmWinograd, wasmWinogradFor, winogradModuleBytes } from '../../src/kernels/wasm/winograd.js';
import { wasmGemmLayout, type WasmGemm } from '../../src/kernels/wasm/gemm.js';
import {
  F4X4, jsTransforms, packedFilterSize, packFilter, tileCounts, transformFilter, winograd, winogradPlan, winogradScratchSize,
  type WinogradCall, type WinogradPlan, type WinogradTransforms,
} from '../../src/kernels/winograd.js';
import { firstBitDifference, rng, splitRanges } from '../kernels/helpers.js';

const int = (min: number, max: number) => fc.integer({ min, max });

describe('the F(4x4, 3x3) tables', () => {
  it('compute the 3x3 correlation of a 6x6 tile exactly in float64 (AT [(G g GT) .* (BT d B)] A)', () => {
    const { BT, G, AT } = WINOGRAD_F4X4_3X3;
    const mul = (a: number[][], b: number[][]) => a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
    const tr = (a: readonly (readonly number[])[]) => a[0].map((_, j) => a.map((row) => row[j]));
    const r = rng(7);
    for (let trial = 0; trial < 20; trial++) {
      const d = Array.from({ length: 6 }, () => Array.from({ length: 6 }, () => Math.round(r() * 20 - 10)));
      const g = Array.from({ length: 3 }, () => Array.from({ length: 3 }, () => Math.round(r() * 20 - 10)));
      const U = mul(mul(G as number[][], g), tr(G));
      const V = mul(mul(BT as number[][], d), tr(BT));
      const Y = mul(mul(AT as number[][], U.map((row, i) => row.map((u, j) => u * V[i][j]))), tr(AT));
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) {
          let direct = 0;
          for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) direct += d[i + ky][j + kx] * g[ky][kx];
          expect(Y[i][j]).toBeCloseTo(direct, 9);
        }
      }
    }
  });
});

/** A random conv case for the kernels: geometry, data, epilogue. */
const caseArb = fc
  .record({
    batch: int(1, 2), h: int(1, 13), w: int(1, 13), c4: int(1, 6), k4: int(1, 6),
    pads: fc.tuple(int(0, 3), int(0, 3), int(0, 3), int(0, 3)),
    activation: fc.constantFrom<Activation>('none', 'relu', 'relu6'), bias: fc.boolean(), residual: fc.boolean(),
    special: fc.constantFrom<number>(0, 0, 0, 0.02), seed: fc.integer(), cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 3 }),
  })
  .filter((p) => p.h + p.pads[0] + p.pads[1] >= 3 && p.w + p.pads[2] + p.pads[3] >= 3)
  .map((p) => {
    const [pt, pb, pl, pr] = p.pads;
    const g: ConvGeometry = {
      batch: p.batch, inH: p.h, inW: p.w, inC: 4 * p.c4, outC: 4 * p.k4, kH: 3, kW: 3,
      outH: p.h + pt + pb - 2, outW: p.w + pl + pr - 2, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1,
      padTop: pt, padBottom: pb, padLeft: pl, padRight: pr,
    };
    return { ...p, g };
  });
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

const SPECIALS = [NaN, Infinity, -Infinity, -0];
function data(n: number, r: () => number, special: number): Float32Array {
  return Float32Array.from({ length: n }, () => (r() < special ? SPECIALS[Math.floor(r() * SPECIALS.length)] : r() * 4 - 2));
}

/** The case's operands and output in one wasm memory, the filter transformed with `plan`. */
function setUp(p: Case, plan: WinogradPlan = F4X4) {
  const { g } = p;
  const r = rng(p.seed);
  const sizes = { x: g.batch * g.inH * g.inW * g.inC, w: 9 * g.inC * g.outC, y: g.batch * g.outH * g.outW * g.outC };
  const tiles = tileCounts(plan, g).total;
  const arena = createWasmArena([
    sizes.x, sizes.w, packedFilterSize(plan, wasmGemmLayout, g.inC, g.outC), g.outC, sizes.y, sizes.y, winogradScratchSize(plan, g, wasmGemmLayout.mr, 0, tiles),
  ])!;
  const [x, w, u, bias, residual, y, scratch] = arena.regions;
  x.set(data(sizes.x, r, p.special));
  w.set(data(sizes.w, r, 0));
  bias.set(data(g.outC, r, 0));
  residual.set(data(sizes.y, r, p.special));
  packFilter(plan, wasmGemmLayout, transformFilter(plan, w, 0, g.inC, g.outC)!, g.inC, g.outC, u, 0);
  const call: WinogradCall = {
    plan, g, x, xOff: 0, u, uOff: 0, w, wOff: 0, y, yOff: 0, bias: p.bias ? bias : null, biasOff: 0,
    residual: p.residual ? residual : null, residualOff: 0, activation: p.activation, scratch, scratchOff: 0,
  };
  return { arena, call, tiles, y };
}

function run(gemm: WasmGemm, transforms: WinogradTransforms, c: WinogradCall, ranges: readonly [number, number][]): Float32Array {
  c.y.fill(1234.5);
  for (const [a, b] of ranges) winograd(gemm, transforms, c, a, b);
  return c.y.slice();
}

describe.runIf(wasmSimdSupported())('wasm Winograd transforms', () => {
  test.prop([caseArb], { numRuns: 120 })(
    "wasm transforms give the TypeScript transforms' bits for any geometry, padding, epilogue, special values and split of the tiles",
    (p) => {
      const { arena, call, tiles } = setUp(p);
      const wasm = wasmWinogradFor({ arena: arena.regions[0], weights: arena.regions[2], gemm: arena.gemm }, call);
      expect(wasm).not.toBeNull();
      const whole = run(arena.gemm, wasm!, call, [[0, tiles]]);
      const split = run(arena.gemm, jsTransforms, call, splitRanges(tiles, p.cuts));
      expect(firstBitDifference(whole, split)).toBe(-1);
      expect(whole.includes(1234.5)).toBe(false);
    },
  );
});

/** The conv as a graph (conv2d or fused_conv2d), its reference and the direct bound plus the Winograd allowance. */
function referenceOf(p: Case, call: WinogradCall) {
  const { g } = p;
  const b = new GraphBuilder('winograd_case');
  const x = b.input('x', [g.batch, g.inH, g.inW, g.inC]);
  const f = b.constant('f', new Tensor([3, 3, g.inC, g.outC], call.w.slice(0, 9 * g.inC * g.outC)));
  const padding: Padding = [[g.padTop, g.padBottom], [g.padLeft, g.padRight]];
  const feeds: Record<string, Float32Array> = { x: call.x.slice(0, g.batch * g.inH * g.inW * g.inC) };
  let y;
  if (p.bias || p.residual || p.activation !== 'none') {
    const bias = b.constant('b', new Tensor([g.outC], call.bias ? call.bias.slice(0, g.outC) : new Float32Array(g.outC)));
    const residual = p.residual ? b.input('r', [g.batch, g.outH, g.outW, g.outC]) : undefined;
    if (residual) feeds.r = call.residual!.slice(0, g.batch * g.outH * g.outW * g.outC);
    y = b.fusedConv2d(x, f, bias, { padding, activation: p.activation }, residual);
  } else y = b.conv2d(x, f, { padding });
  const graph = b.build({ y });
  const direct = evaluate(graph, feeds).y;
  const allowance = winogradAllowance({ shape: [g.batch, g.inH, g.inW, g.inC], value: Float64Array.from(feeds.x), bound: new Float64Array(feeds.x.length) },
    { shape: [3, 3, g.inC, g.outC], value: Float64Array.from(call.w.subarray(0, 9 * g.inC * g.outC)), bound: new Float64Array(9 * g.inC * g.outC) }, { strides: [1, 1], dilations: [1, 1], padding });
  return { direct, allowance };
}

/** Worst |y - ref| / bound over the finite reference elements (Infinity when a non-finite one is not matched). */
function worstRatio(y: Float32Array, ref: Float64Array, bound: (i: number) => number): number {
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    if (!Number.isFinite(ref[i])) {
      if (!Object.is(y[i], ref[i]) && !(Number.isNaN(ref[i]) && Number.isNaN(y[i]))) return Infinity;
      continue;
    }
    const e = Math.abs(y[i] - ref[i]);
    if (e > 0) worst = Math.max(worst, e / bound(i));
  }
  return worst;
}

describe.runIf(wasmSimdSupported())('Winograd error bound', () => {
  const seen = { wino: 0, directOfDirect: 0, winoOverDirect: 0 };
  test.prop([caseArb.map((p) => ({ ...p, special: 0 }))], { numRuns: 60 })(
    'the Winograd result is within the direct bound plus winogradAllowance (and the non-finite outputs match)',
    (p) => {
      const { arena, call, tiles } = setUp(p);
      const y = run(arena.gemm, wasmWinogradFor({ arena: arena.regions[0], weights: arena.regions[2], gemm: arena.gemm }, call)!, call, [[0, tiles]]);
      const { direct, allowance } = referenceOf(p, call);
      const ratio = worstRatio(y, direct.value, (i) => direct.bound[i] + allowance.bound[i]);
      expect(ratio).toBeLessThanOrEqual(1);
      seen.wino = Math.max(seen.wino, ratio);
      seen.winoOverDirect = Math.max(seen.winoOverDirect, worstRatio(y, direct.value, (i) => direct.bound[i]));
    },
  );

  it('is not loose by orders of magnitude: the worst error reaches as large a share of it as of the direct bound with the direct conv', async () => {
    // The direct conv on the same kind of cases, for the share its own bound is reached by.
    const cases = fc.sample(caseArb.map((p) => ({ ...p, special: 0 })), { numRuns: 60, seed: 5 });
    const container = createContainer();
    registerBackend(container, 'direct', () => new CpuBackend({ winograd: 'off' }));
    for (const p of cases) {
      const { call } = setUp(p);
      const b = new GraphBuilder('d');
      const { g } = p;
      const x = b.input('x', [g.batch, g.inH, g.inW, g.inC]);
      const f = b.constant('f', new Tensor([3, 3, g.inC, g.outC], call.w.slice(0, 9 * g.inC * g.outC)));
      const graph = b.build({ y: b.conv2d(x, f, { padding: [[g.padTop, g.padBottom], [g.padLeft, g.padRight]] }) });
      const feeds = { x: call.x.slice(0, g.batch * g.inH * g.inW * g.inC) };
      const session = await createSession(graph, { backend: 'direct', container });
      const y = (await session.run(feeds)).y;
      session.dispose();
      const ref = evaluate(graph, feeds).y;
      seen.directOfDirect = Math.max(seen.directOfDirect, worstRatio(y, ref.value, (i) => ref.bound[i]));
    }
    console.log(
      `Winograd F(4x4, 3x3): worst error ${seen.wino.toExponential(2)} of its bound (direct + allowance), ${seen.winoOverDirect.toExponential(2)} of the direct bound; ` +
        `the direct conv: ${seen.directOfDirect.toExponential(2)} of its bound`,
    );
    expect(seen.wino).toBeGreaterThan(0);
    expect(seen.wino).toBeGreaterThan(seen.directOfDirect / 10);
  });
});

/** F(4x4, 3x3) with one coefficient changed. */
function mutant(part: 'BT' | 'G' | 'AT', i: number, j: number, by: number): WinogradTransform {
  const t = WINOGRAD_F4X4_3X3;
  const copy = (m: readonly (readonly number[])[]) => m.map((row) => [...row]);
  const out = { ...t, BT: copy(t.BT), G: copy(t.G), AT: copy(t.AT) };
  out[part][i][j] += by;
  return out;
}

describe.runIf(wasmSimdSupported())('a wrong transform coefficient', () => {
  const p = fc.sample(caseArb, { numRuns: 1, seed: 11 })[0];
  const mutants: [string, WinogradTransform][] = [
    ['BT[1][2] -4 -> -3', mutant('BT', 1, 2, 1)],
    ['G[3][1] 1/12 -> -1/12', mutant('G', 3, 1, -1 / 6)],
    ['AT[3][3] 8 -> 7', mutant('AT', 3, 3, -1)],
  ];
  for (const [name, transform] of mutants) {
    it(`is caught by the bound (${name}), on the wasm and the TypeScript transforms`, () => {
      const plan = winogradPlan(transform);
      const q = { ...p, special: 0, g: { ...p.g, batch: 1, inH: 9, inW: 9, outH: 9, outW: 9, padTop: 1, padBottom: 1, padLeft: 1, padRight: 1, inC: 8, outC: 8 } };
      const { arena, call, tiles } = setUp(q, plan);
      const { direct, allowance } = referenceOf(q, call);
      const bound = (i: number) => direct.bound[i] + allowance.bound[i];
      const wasm = new WasmWinograd(new WebAssembly.Module(winogradModuleBytes(plan)), arena.memory, arena.gemm.views, plan);
      expect(worstRatio(run(arena.gemm, wasm, call, [[0, tiles]]), direct.value, bound)).toBeGreaterThan(1);
      expect(worstRatio(run(arena.gemm, jsTransforms, call, [[0, tiles]]), direct.value, bound)).toBeGreaterThan(1);
      // The true tables on the same case pass.
      const ok = setUp(q);
      expect(worstRatio(run(ok.arena.gemm, jsTransforms, ok.call, [[0, ok.tiles]]), direct.value, bound)).toBeLessThanOrEqual(1);
    });
  }
});
