import { attrsOf, convGeometry, depthwiseConv2d, type ConvGeometry } from '@tessera/core';
import { view, type CpuKernel, type Ref, type Step } from '../program.js';

export interface DepthwiseConv2dStep extends Step {
  readonly g: ConvGeometry;
  readonly multiplier: number;
  readonly x: Ref;
  readonly w: Ref;
  readonly y: Ref;
}

/**
 * Depthwise conv as a direct loop: memory-bound (K = KH x KW products per output), so no im2col
 * or GEMM. The units are output pixels; each accumulates all its channels (innermost, contiguous
 * in input, filter and output) tap by tap in float32.
 */
export const depthwiseConv2dKernel: CpuKernel<DepthwiseConv2dStep> = {
  op: 'depthwise_conv2d',
  prepare(node, ctx) {
    const filter = ctx.graph.value(node.inputs[1]).shape;
    const g = convGeometry(ctx.graph.value(node.inputs[0]).shape, filter, attrsOf(node, depthwiseConv2d), true);
    return {
      kernel: 'depthwise_conv2d',
      node: node.name,
      units: g.batch * g.outH * g.outW,
      costPerUnit: g.kH * g.kW * g.outC,
      g,
      multiplier: filter[3],
      x: ctx.operand(node.inputs[0]),
      w: ctx.operand(node.inputs[1]),
      y: ctx.output(node),
    };
  },
  run(s, mem, start, end) {
    const x = view(mem, s.x);
    const w = view(mem, s.w);
    const y = view(mem, s.y);
    const { g } = s;
    const ohw = g.outH * g.outW;
    for (let r = start; r < end; r++) {
      const n = Math.floor(r / ohw);
      const oy = Math.floor((r - n * ohw) / g.outW);
      const ox = r - n * ohw - oy * g.outW;
      const out = s.y.off + r * g.outC;
      y.fill(0, out, out + g.outC);
      for (let ky = 0; ky < g.kH; ky++) {
        const iy = oy * g.strideH + ky * g.dilationH - g.padTop;
        for (let kx = 0; kx < g.kW; kx++) {
          const ix = ox * g.strideW + kx * g.dilationW - g.padLeft;
          const wb = s.w.off + (ky * g.kW + kx) * g.outC;
          if (iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW) {
            tap(x, s.x.off + ((n * g.inH + iy) * g.inW + ix) * g.inC, w, wb, y, out, g.inC, s.multiplier);
          } else {
            // A padded tap adds 0 * w, as the reference: NaN for a non-finite weight.
            for (let co = 0; co < g.outC; co++) y[out + co] += 0 * w[wb + co];
          }
        }
      }
    }
  },
};

/** y[out + c M + m] += x[xb + c] * w[wb + c M + m] for every channel c and multiplier m. */
function tap(x: Float32Array, xb: number, w: Float32Array, wb: number, y: Float32Array, out: number, C: number, M: number): void {
  if (M === 1) {
    for (let c = 0; c < C; c++) y[out + c] += x[xb + c] * w[wb + c];
    return;
  }
  for (let c = 0, co = 0; c < C; c++) {
    const xv = x[xb + c];
    for (let m = 0; m < M; m++, co++) y[out + co] += xv * w[wb + co];
  }
}
