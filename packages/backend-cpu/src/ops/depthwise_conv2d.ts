import { attrsOf, convGeometry, depthwiseConv2d, type Activation, type Conv2dAttrs, type ConvGeometry, type Node } from '@tessera/core';
import { depthwise, type DepthwiseCall } from '../kernels/depthwise.js';
import { view, type CpuKernel, type Memory, type PrepareContext, type Ref, type Step } from '../program.js';

/** depthwise_conv2d and fused_depthwise_conv2d share this step: the direct loop with a bias / activation epilogue. */
export interface DepthwiseConv2dStep extends Step {
  readonly g: ConvGeometry;
  readonly multiplier: number;
  readonly x: Ref;
  readonly w: Ref;
  readonly bias: Ref | null;
  readonly activation: Activation;
  readonly y: Ref;
}

/** A depthwise node as a step; `bias` names the bias operand of the fused op, if any. */
export function prepareDepthwise(node: Node, ctx: PrepareContext, attrs: Conv2dAttrs, bias: string | undefined, activation: Activation): DepthwiseConv2dStep {
  const filter = ctx.graph.value(node.inputs[1]).shape;
  const g = convGeometry(ctx.graph.value(node.inputs[0]).shape, filter, attrs, true);
  return {
    // One kernel for both ops: the workers' chain rules and the scheduler see one step kind.
    kernel: 'depthwise_conv2d',
    node: node.name,
    // Output pixels: each accumulates all its channels.
    units: g.batch * g.outH * g.outW,
    costPerUnit: g.kH * g.kW * g.outC,
    g,
    multiplier: filter[3],
    x: ctx.operand(node.inputs[0]),
    w: ctx.operand(node.inputs[1]),
    bias: bias === undefined ? null : ctx.operand(bias),
    activation,
    y: ctx.output(node),
  };
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };
const EMPTY = new Float32Array(0);
// The call every run fills (kernels are synchronous: one per thread is enough), emptied after.
const call: Writable<DepthwiseCall> = {
  g: undefined as unknown as ConvGeometry, multiplier: 1, x: EMPTY, xOff: 0, w: EMPTY, wOff: 0, bias: null, biasOff: 0, y: EMPTY, yOff: 0, activation: 'none',
};

function fillCall(s: DepthwiseConv2dStep, mem: Memory): DepthwiseCall {
  const c = call;
  c.g = s.g; c.multiplier = s.multiplier; c.activation = s.activation;
  c.x = view(mem, s.x); c.xOff = s.x.off;
  c.w = view(mem, s.w); c.wOff = s.w.off;
  c.bias = s.bias ? view(mem, s.bias) : null; c.biasOff = s.bias ? s.bias.off : 0;
  c.y = view(mem, s.y); c.yOff = s.y.off;
  return c;
}

/** Depthwise conv over output pixels (kernels/depthwise.ts: wasm SIMD for multiplier 1, else TypeScript, same bits). */
export const depthwiseConv2dKernel: CpuKernel<DepthwiseConv2dStep> = {
  op: 'depthwise_conv2d',
  prepare: (node, ctx) => prepareDepthwise(node, ctx, attrsOf(node, depthwiseConv2d), undefined, 'none'),
  run(s, mem, start, end) {
    try {
      depthwise(mem, fillCall(s, mem), start, end);
    } finally {
      // Keep no memory alive between runs.
      call.x = call.w = call.y = EMPTY;
      call.bias = null;
    }
  },
};
