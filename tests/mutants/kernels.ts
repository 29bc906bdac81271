/**
 * Deliberately faulty kernels, each a single realistic bug, built from the cpu kernels (wrapped
 * or with one line of a copied loop changed). Used only by the mutation test.
 */
import { CPU_KERNELS, kernels, view, type ConvStep, type CpuKernel, type Memory, type PrepareContext, type Ref, type Step } from '@tessera/backend-cpu/kernels';
import { matmulGeometry, numel, type Activation, type ConvGeometry, type MatmulAttrs, type MatmulGeometry, type Node } from '@tessera/core';
import type { MutantSpec, StepRunner } from './backend.js';

const cpu = (op: string): CpuKernel => CPU_KERNELS.find((k) => k.op === op)!;

/** conv2d and fused_conv2d with their prepared geometry changed by `bend` (the kernels then follow it). */
function convGeometryBug(bend: (g: ConvGeometry, node: Node) => ConvGeometry): Record<string, CpuKernel> {
  const wrap = (k: CpuKernel): CpuKernel => ({
    ...k,
    prepare(node: Node, ctx: PrepareContext) {
      const s = k.prepare(node, ctx) as ConvStep;
      return { ...s, g: bend(s.g, node) };
    },
  });
  return { conv2d: wrap(cpu('conv2d')), fused_conv2d: wrap(cpu('fused_conv2d')) };
}

/** 1. SAME padding: the extra pixel goes before (top / left) instead of after. */
export const samePadSwapped: MutantSpec = {
  kernels: convGeometryBug((g, node) => (node.attrs.padding === 'SAME' ? { ...g, padTop: g.padBottom, padBottom: g.padTop, padLeft: g.padRight, padRight: g.padLeft } : g)),
};

/** 2. The width stride is ignored (every output column steps one input column). */
export const strideWIgnored: MutantSpec = { kernels: convGeometryBug((g) => ({ ...g, strideW: 1 })) };

/** 3. Dilations are ignored (the taps are adjacent). */
export const dilationIgnored: MutantSpec = { kernels: convGeometryBug((g) => ({ ...g, dilationH: 1, dilationW: 1 })) };

/** 4b. fused_conv2d drops its residual operand (the shortcut of a ResNet block is never added). */
export const residualIgnored: MutantSpec = {
  kernels: {
    fused_conv2d: {
      ...cpu('fused_conv2d'),
      prepare: (node: Node, ctx: PrepareContext) => ({ ...(cpu('fused_conv2d').prepare(node, ctx) as ConvStep), residual: null }),
    },
  },
};

/** 4. bias_add indexes the bias by row (element / channels) instead of by channel. */
export const biasPerRow: MutantSpec = {
  kernels: {
    bias_add: {
      ...cpu('bias_add'),
      run(s: Step & { x: Ref; bias: Ref; channels: number; y: Ref }, mem: Memory, start: number, end: number) {
        const x = view(mem, s.x);
        const b = view(mem, s.bias);
        const y = view(mem, s.y);
        for (let i = start; i < end; i++) y[s.y.off + i] = x[s.x.off + i] + b[s.bias.off + (Math.floor(i / s.channels) % s.channels)];
      },
    } as CpuKernel,
  },
};

/** A relu kernel computing `wrong(x)` per element. */
function reluAs(wrong: (v: number) => number): MutantSpec {
  return {
    kernels: {
      relu: {
        ...cpu('relu'),
        run(s: Step & { x: Ref; y: Ref }, mem: Memory, start: number, end: number) {
          const x = view(mem, s.x);
          const y = view(mem, s.y);
          for (let i = start; i < end; i++) y[s.y.off + i] = wrong(x[s.x.off + i]);
        },
      } as CpuKernel,
    },
  };
}

/** 5. relu computed as |x|. */
export const reluAbs: MutantSpec = reluAs(Math.abs);

/** 5b. relu as `x < 0 ? 0 : x`: right for every value but -0, which it keeps (relu(-0) must be +0). */
export const reluKeepsNegZero: MutantSpec = reluAs((v) => (v < 0 ? 0 : v));

/** 6. maxpool: padded cells take part as zeros (conv-style padding), so they win over negative windows. */
export const maxpoolPadWins: MutantSpec = {
  kernels: {
    maxpool: {
      ...cpu('maxpool'),
      run(s: Step & { g: ConvGeometry; x: Ref; y: Ref }, mem: Memory, start: number, end: number) {
        const { g } = s;
        const x = view(mem, s.x);
        const y = view(mem, s.y);
        for (let r = start; r < end; r++) {
          const ow = r % g.outW;
          const oh = Math.floor(r / g.outW) % g.outH;
          const n = Math.floor(r / (g.outW * g.outH));
          for (let c = 0; c < g.inC; c++) {
            let best = -Infinity;
            for (let kh = 0; kh < g.kH; kh++)
              for (let kw = 0; kw < g.kW; kw++) {
                const ih = oh * g.strideH + kh - g.padTop;
                const iw = ow * g.strideW + kw - g.padLeft;
                const inside = ih >= 0 && ih < g.inH && iw >= 0 && iw < g.inW;
                const v = inside ? x[s.x.off + ((n * g.inH + ih) * g.inW + iw) * g.inC + c] : 0; // the bug: a padded cell is 0
                if (v !== v || v > best) best = v;
              }
            y[s.y.off + r * g.inC + c] = best;
          }
        }
      },
    } as CpuKernel,
  },
};

/** 7. reshape as a kernel that transposes: the input read as [rows, last] is written column-major. */
interface ReshapeStep extends Step {
  readonly x: Ref;
  readonly y: Ref;
  readonly rows: number;
  readonly cols: number;
}
export const reshapeTransposes: MutantSpec = {
  kernels: {
    reshape: {
      op: 'reshape',
      prepare(node: Node, ctx: PrepareContext): ReshapeStep {
        const shape = ctx.graph.value(node.inputs[0]).shape;
        const cols = shape[shape.length - 1];
        return { kernel: 'reshape', node: node.name, units: 1, costPerUnit: numel(shape), x: ctx.operand(node.inputs[0]), y: ctx.output(node), rows: numel(shape) / cols, cols };
      },
      scratchSize: (s: ReshapeStep) => s.rows * s.cols,
      run(s: ReshapeStep, mem: Memory, _start: number, _end: number, scratch: Float32Array) {
        const x = view(mem, s.x);
        const y = view(mem, s.y);
        const n = s.rows * s.cols;
        scratch.set(x.subarray(s.x.off, s.x.off + n)); // input and output share the view's buffer
        for (let i = 0; i < s.rows; i++) for (let j = 0; j < s.cols; j++) y[s.y.off + j * s.rows + i] = scratch[i * s.cols + j];
      },
    } as CpuKernel,
  },
};

/** A naive matmul (raw b, kept unpacked) with two switchable bugs: ignoring transposeB, and a float16-like accumulator. */
interface NaiveMatmulStep extends Step {
  readonly g: MatmulGeometry;
  readonly a: Ref;
  readonly b: Ref;
  readonly bias: Ref | null;
  readonly activation: Activation;
  readonly y: Ref;
}
function naiveMatmul(bug: { ignoreTransposeB?: boolean; roundAcc?: (v: number) => number }): Record<string, CpuKernel> {
  const make = (op: 'matmul' | 'fused_matmul'): CpuKernel =>
    ({
      op,
      prepare(node: Node, ctx: PrepareContext): NaiveMatmulStep {
        const [a, b, bias] = node.inputs;
        const g = matmulGeometry(ctx.graph.value(a).shape, ctx.graph.value(b).shape, node.attrs as MatmulAttrs);
        const constB = ctx.graph.constants.get(b);
        return {
          kernel: op,
          node: node.name,
          units: g.batch * g.m,
          costPerUnit: g.k * g.n,
          g,
          a: ctx.operand(a),
          b: constB ? ctx.reserveWeights(constB.size, (dst, off) => dst.set(constB.data, off)) : ctx.operand(b),
          bias: op === 'fused_matmul' ? ctx.operand(bias) : null,
          activation: op === 'fused_matmul' ? (node.attrs.activation as Activation) : 'none',
          y: ctx.output(node),
        };
      },
      run(s: NaiveMatmulStep, mem: Memory, start: number, end: number) {
        const { m, k, n, transposeA, sharedB } = s.g;
        const transposeB = s.g.transposeB && !bug.ignoreTransposeB;
        const round = bug.roundAcc ?? Math.fround;
        const A = view(mem, s.a);
        const B = view(mem, s.b);
        const Y = view(mem, s.y);
        const bias = s.bias ? view(mem, s.bias) : null;
        for (let u = start; u < end; u++) {
          const t = Math.floor(u / m);
          const i = u % m;
          const aBase = s.a.off + t * m * k;
          const bBase = s.b.off + (sharedB ? 0 : t * k * n);
          for (let j = 0; j < n; j++) {
            let acc = 0;
            for (let p = 0; p < k; p++) {
              const av = A[aBase + (transposeA ? p * m + i : i * k + p)];
              const bv = B[bBase + (transposeB ? j * k + p : p * n + j)];
              acc = round(acc + Math.fround(av * bv));
            }
            let v = bias ? Math.fround(acc + bias[s.bias!.off + j]) : acc;
            if (s.activation !== 'none' && v < 0) v = 0;
            else if (s.activation === 'relu6' && v > 6) v = 6;
            Y[s.y.off + u * n + j] = v;
          }
        }
      },
    }) as CpuKernel;
  return { matmul: make('matmul'), fused_matmul: make('fused_matmul') };
}

/** 8. matmul ignores transposeB (reads b as [k, n] whatever the attribute says). */
export const matmulIgnoresTransposeB: MutantSpec = { kernels: naiveMatmul({ ignoreTransposeB: true }) };

/** Rounds to an 11-bit significand (float16's precision, float32's range). */
export function roundHalf(v: number): number {
  if (v === 0 || !Number.isFinite(v)) return v;
  const e = Math.floor(Math.log2(Math.abs(v)));
  const q = 2 ** (e - 10);
  return Math.round(v / q) * q;
}

/** 10. The matmul accumulator keeps float16 precision (11 significant bits) instead of float32's 24. */
export const halfAccumulator: MutantSpec = { kernels: naiveMatmul({ roundAcc: roundHalf }) };

/** 9. conv im2col with an off-by-one bottom bound (`ih > inH` instead of `ih >= inH`): the row past the image is read. */
function im2colOffByOne(g: ConvGeometry, x: Float32Array, xOff: number, dst: Float32Array, r0: number, r1: number): void {
  let o = 0;
  for (let r = r0; r < r1; r++) {
    const ow = r % g.outW;
    const oh = Math.floor(r / g.outW) % g.outH;
    const n = Math.floor(r / (g.outW * g.outH));
    for (let kh = 0; kh < g.kH; kh++) {
      const ih = oh * g.strideH + kh * g.dilationH - g.padTop;
      for (let kw = 0; kw < g.kW; kw++) {
        const iw = ow * g.strideW + kw * g.dilationW - g.padLeft;
        const inside = ih >= 0 && ih <= g.inH && iw >= 0 && iw < g.inW; // the bug: <= inH
        for (let c = 0; c < g.inC; c++) dst[o++] = inside ? (x[xOff + ((n * g.inH + ih) * g.inW + iw) * g.inC + c] ?? 0) : 0;
      }
    }
  }
}
function convIm2colBug(): Record<string, CpuKernel> {
  const make = (k: CpuKernel): CpuKernel =>
    ({
      ...k,
      scratchSize: (s: ConvStep, start: number, end: number) => {
        const K = s.g.kH * s.g.kW * s.g.inC;
        return (s.wPacked ? 0 : kernels.packedBSize(K, s.g.outC)) + (end - start) * K;
      },
      run(s: ConvStep, mem: Memory, start: number, end: number, scratch: Float32Array) {
        const K = s.g.kH * s.g.kW * s.g.inC;
        const N = s.g.outC;
        const filterFloats = s.wPacked ? 0 : kernels.packedBSize(K, N);
        if (!s.wPacked) kernels.packBInto(scratch, 0, K, N, view(mem, s.w), s.w.off, N, false);
        const cols = scratch.subarray(filterFloats, filterFloats + (end - start) * K);
        im2colOffByOne(s.g, view(mem, s.x), s.x.off, cols, start, end);
        kernels.gemm(Object.assign(kernels.gemmCall(), {
          M: end - start, N, K, a: cols, aOff: 0, lda: K, b: s.wPacked ? mem.weights : scratch, bOff: s.wPacked ? s.w.off : 0,
          c: view(mem, s.y), cOff: s.y.off + start * N, ldc: N, bias: s.bias ? view(mem, s.bias) : null, biasOff: s.bias?.off ?? 0,
          residual: s.residual ? view(mem, s.residual) : null, residualOff: (s.residual?.off ?? 0) + start * N, activation: s.activation,
          rowStart: 0, rowEnd: end - start,
        }));
      },
    }) as CpuKernel;
  return { conv2d: make(cpu('conv2d')), fused_conv2d: make(cpu('fused_conv2d')) };
}
export const im2colOffByOneBug: MutantSpec = { kernels: convIm2colBug() };

/** 11. A two-way partition of every step whose second range starts one unit late: one row of output is never computed. */
const partitionOffByOne: StepRunner = (kernel, step, mem, scratch) => {
  const mid = Math.floor(step.units / 2);
  const parts: [number, number][] = step.units < 2 ? [[0, step.units]] : [[0, mid], [mid + 1, step.units]];
  for (const [a, b] of parts) kernel.run(step, mem, a, b, scratch.get(kernel.scratchSize?.(step, a, b) ?? 0));
};
export const partitionBoundary: MutantSpec = { runStep: partitionOffByOne };
