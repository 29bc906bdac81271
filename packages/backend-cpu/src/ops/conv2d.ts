import {
  attrsOf, conv2d as conv2dSpec, convGeometry, phaseFilter, phaseGeometry, winogradEligible, winogradPhasesEligible,
  type Activation, type Conv2dAttrs, type ConvGeometry, type Node,
} from '@tessera/core';
import { conv2d, conv2dScratchSize, convCall, releaseConvCall, type GemmLayout } from '../kernels/index.js';
import { wasmWinogradFor } from '../kernels/wasm/winograd.js';
import {
  F4X4, jsTransforms, packedFilterSize, packFilter, tileCounts, transformFilter, winograd, winogradPhases, winogradPhasesScratchSize, winogradScratchSize,
  type WinogradCall,
} from '../kernels/winograd.js';
import { view, type CpuKernel, type Memory, type PrepareContext, type Ref, type Step } from '../program.js';
import { epilogueAfter, gemmFor, gemmLayout, stepLayout } from './gemm-for.js';

/** conv2d and fused_conv2d share this step: im2col + packed GEMM with a bias / residual / activation epilogue. */
export interface ConvStep extends Step {
  readonly g: ConvGeometry;
  readonly x: Ref;
  /** The filter: packed for the GEMM at compile when constant, else raw HWIO packed at run time. */
  readonly w: Ref;
  readonly wPacked: boolean;
  readonly bias: Ref | null;
  /** Output-shaped, added after the bias (fused_conv2d's fourth operand). */
  readonly residual: Ref | null;
  readonly activation: Activation;
  readonly y: Ref;
  /** Compiled for the wasm SIMD GEMM (its packed layout); runs only on a Memory whose `gemm` is one. */
  readonly wasm: boolean;
}

/** The epilogue operands of a conv step: none for conv2d. */
export interface ConvEpilogue {
  readonly bias: string | null;
  readonly residual: string | null;
  readonly activation: Activation;
}

const NO_EPILOGUE: ConvEpilogue = { bias: null, residual: null, activation: 'none' };

export function prepareConv(node: Node, ctx: PrepareContext, attrs: Conv2dAttrs, epilogue: ConvEpilogue): ConvStep | WinogradStep {
  const [x, f] = node.inputs;
  const g = convGeometry(ctx.graph.value(x).shape, ctx.graph.value(f).shape, attrs);
  const K = g.kH * g.kW * g.inC;
  const layout = gemmLayout(ctx.gemm);
  const filter = ctx.graph.constants.get(f);
  const mode = ctx.winograd ?? 'off';
  // A stride-2 5x5 / 6x6 conv runs as Winograd on its phase conv (core's `phaseGeometry`), a 3x3 stride-1 one on itself.
  const phases = winogradPhasesEligible(g);
  const wg = phases ? phaseGeometry(g) : g;
  if (filter && mode !== 'off' && (phases || winogradEligible(g)) && (mode === 'always' || winogradPays(wg, layout))) {
    // Transformed once, here; a filter with a non-finite weight (or transform) runs directly.
    const wf = phases ? phaseFilter(g, filter.data, 0, new Float32Array(9 * wg.inC * wg.outC)) : filter.data;
    const U = transformFilter(F4X4, wf, 0, wg.inC, wg.outC);
    if (U) {
      return {
        kernel: 'conv2d_winograd',
        node: node.name,
        algorithm: phases ? 'winograd-f4x4-s2' : 'winograd-f4x4',
        units: tileCounts(F4X4, wg).total,
        costPerUnit: F4X4.positions * wg.inC * wg.outC,
        g,
        x: ctx.operand(x),
        u: ctx.reserveWeights(packedFilterSize(F4X4, layout, wg.inC, wg.outC), (dst, off) => packFilter(F4X4, layout, U, wg.inC, wg.outC, dst, off)),
        w: ctx.operand(f),
        bias: epilogue.bias === null ? null : ctx.operand(epilogue.bias),
        residual: epilogue.residual === null ? null : ctx.operand(epilogue.residual),
        activation: epilogue.activation,
        y: ctx.output(node),
        wasm: layout.path === 'wasm',
      };
    }
  }
  return {
    kernel: 'conv2d',
    node: node.name,
    units: g.batch * g.outH * g.outW,
    costPerUnit: K * g.outC,
    g,
    x: ctx.operand(x),
    w: filter
      ? ctx.reserveWeights(layout.packedBSize(K, g.outC), (dst, off) => layout.packB(dst, off, K, g.outC, filter.data, 0, g.outC, false))
      : ctx.operand(f),
    wPacked: filter !== undefined,
    bias: epilogue.bias === null ? null : ctx.operand(epilogue.bias),
    residual: epilogue.residual === null ? null : ctx.operand(epilogue.residual),
    activation: epilogue.activation,
    y: ctx.output(node),
    wasm: layout.path === 'wasm',
  };
}

/** Floats at the front of the scratch for a filter packed at run time (16-float aligned). */
function filterSize(s: ConvStep): number {
  return s.wPacked ? 0 : Math.ceil(stepLayout(s).packedBSize(s.g.kH * s.g.kW * s.g.inC, s.g.outC) / 16) * 16;
}

// The convolution call every run fills (kernels are synchronous: one per thread is enough).
const call = convCall();

export const conv2dKernel: CpuKernel<ConvStep> = {
  op: 'conv2d',
  // A Winograd step names its own kernel (conv2d_winograd), which the program runs.
  prepare: (node, ctx) => prepareConv(node, ctx, attrsOf(node, conv2dSpec), NO_EPILOGUE) as ConvStep,
  scratchSize: (s, start, end) => filterSize(s) + conv2dScratchSize(s.g, start, end, stepLayout(s).mr),
  run(s, mem, start, end, scratch) {
    const layout = stepLayout(s);
    const gemm = gemmFor(mem, layout, s.node);
    const K = s.g.kH * s.g.kW * s.g.inC;
    // The filter: from weights memory, or packed now into the front of the scratch.
    if (!s.wPacked) layout.packB(scratch, 0, K, s.g.outC, view(mem, s.w), s.w.off, s.g.outC, false);
    const c = call;
    c.g = s.g; c.x = view(mem, s.x); c.xOff = s.x.off;
    c.w = s.wPacked ? mem.weights : scratch; c.wOff = s.wPacked ? s.w.off : 0;
    c.y = view(mem, s.y); c.yOff = s.y.off;
    c.bias = s.bias ? view(mem, s.bias) : null; c.biasOff = s.bias ? s.bias.off : 0;
    // A residual is added after the GEMM by the element-wise kernels (WebAssembly where the memory
    // has it), then the activation: the same operations per element as the GEMM's own epilogue.
    c.activation = s.residual ? 'none' : s.activation;
    c.scratch = scratch; c.scratchOff = filterSize(s); c.rowStart = start; c.rowEnd = end;
    // The same bits on either GEMM (cpu and workers backends agree bit for bit).
    conv2d(gemm, c);
    releaseConvCall(c);
    if (s.residual) addResidual(s, s.residual, mem, start, end);
  },
};

/** Output rows [start, end) += the residual's, then the activation: one bias_add whose "bias" is as long as the rows. */
function addResidual(s: ConvStep, residual: Ref, mem: Memory, start: number, end: number): void {
  const len = (end - start) * s.g.outC;
  epilogueAfter(mem, view(mem, s.y), s.y.off + start * s.g.outC, len, { data: view(mem, residual), off: residual.off + start * s.g.outC, period: len }, s.activation);
}

/**
 * The cost rule of 'auto': Winograd wherever it was measured faster (benchmarks/kernels-micro.ts
 * `winograd`, same-run ratios on one core: 56x56x8 to 56x56x64 2.1-3.3x, 28x28x128 3.7x,
 * 14x14x256 2.7x, 7x7x128 2.3x, 7x7x512 1.1x). Per tile it does 36 C K multiply-adds where the
 * direct conv does 144, plus transforms of about 30 (C + K) operations, so its GEMMs dominate
 * from a few channels on (8 measured); it needs the wasm transforms (channels multiples of 4).
 * What it loses is weight traffic: each position's C x K matrix is read once per chunk of tiles,
 * 4x the direct filter, so with few tiles (a 7x7 image has 4) and a transformed filter far
 * beyond the caches (7x7x512: 37 MB) it only ties, at 4x the weights memory: not taken there.
 */
export const WINOGRAD_MIN_CHANNELS = 8;
/** Tiles from which the transformed filter's reads are spread over enough work, whatever its size. */
export const WINOGRAD_MIN_TILES = 16;
/** Floats of transformed filter (36 C K) that stay cheap to re-read with fewer tiles (4 MiB). */
export const WINOGRAD_SMALL_FILTER = 1 << 20;
export function winogradPays(g: ConvGeometry, layout: GemmLayout): boolean {
  const channels = g.inC % 4 === 0 && g.outC % 4 === 0 && g.inC >= WINOGRAD_MIN_CHANNELS && g.outC >= WINOGRAD_MIN_CHANNELS;
  const reuse = tileCounts(F4X4, g).total >= WINOGRAD_MIN_TILES || F4X4.positions * g.inC * g.outC <= WINOGRAD_SMALL_FILTER;
  return layout.path === 'wasm' && channels && reuse;
}

/**
 * A conv run as Winograd F(4x4, 3x3) (kernels/winograd.ts): units are output tiles. A stride-2
 * conv ('winograd-f4x4-s2') runs it on its phase conv (`winogradPhases`).
 */
export interface WinogradStep extends Step {
  readonly algorithm: 'winograd-f4x4' | 'winograd-f4x4-s2';
  readonly g: ConvGeometry;
  readonly x: Ref;
  /** The transformed filter, packed for the GEMM position by position (weights memory). */
  readonly u: Ref;
  /** The raw HWIO filter (a constant), for tiles recomputed directly. */
  readonly w: Ref;
  readonly bias: Ref | null;
  readonly residual: Ref | null;
  readonly activation: Activation;
  readonly y: Ref;
  readonly wasm: boolean;
}

const isPhases = (s: WinogradStep): boolean => s.algorithm === 'winograd-f4x4-s2';

// The Winograd call every run fills (kernels are synchronous: one per thread is enough).
const wcall: WinogradCall = {
  plan: F4X4, g: undefined as unknown as ConvGeometry, x: new Float32Array(0), xOff: 0, u: new Float32Array(0), uOff: 0, w: new Float32Array(0), wOff: 0,
  y: new Float32Array(0), yOff: 0, bias: null, biasOff: 0, residual: null, residualOff: 0, activation: 'none', scratch: new Float32Array(0), scratchOff: 0,
};

/** The Winograd step's kernel: prepared by conv2d / fused_conv2d's `prepareConv` when chosen, never from a node of its own. */
export const conv2dWinogradKernel: CpuKernel<WinogradStep> = {
  op: 'conv2d_winograd',
  prepare(node) {
    throw new Error(`node '${node.name}' (${node.op}): conv2d_winograd steps are made by the conv2d / fused_conv2d kernels, not from a node`);
  },
  scratchSize: (s, start, end) => (isPhases(s) ? winogradPhasesScratchSize : winogradScratchSize)(F4X4, s.g, stepLayout(s).mr, start, end),
  run(s, mem, start, end, scratch) {
    const gemm = gemmFor(mem, stepLayout(s), s.node);
    const c = wcall;
    c.g = s.g; c.x = view(mem, s.x); c.xOff = s.x.off; c.u = mem.weights; c.uOff = s.u.off; c.w = view(mem, s.w); c.wOff = s.w.off;
    c.y = view(mem, s.y); c.yOff = s.y.off;
    c.bias = s.bias ? view(mem, s.bias) : null; c.biasOff = s.bias ? s.bias.off : 0;
    c.residual = s.residual ? view(mem, s.residual) : null; c.residualOff = s.residual ? s.residual.off : 0;
    c.activation = s.activation; c.scratch = scratch; c.scratchOff = 0;
    (isPhases(s) ? winogradPhases : winograd)(gemm, wasmWinogradFor(mem, c) ?? jsTransforms, c, start, end);
    c.x = c.u = c.w = c.y = c.scratch = new Float32Array(0);
    c.bias = c.residual = null;
  },
};
