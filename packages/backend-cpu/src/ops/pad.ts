import { attrsOf, pad, rowMajorStrides } from '@tessera/core';
import { copy, fill } from '../kernels/elementwise.js';
import { view, type CpuKernel, type Ref, type Step } from '../program.js';

export interface PadStep extends Step {
  readonly x: Ref;
  readonly y: Ref;
  /** Output shape without its last axis; each unit is one output row (a run along the last axis). */
  readonly outer: readonly number[];
  /** The input's shape and its row strides (in rows) over the same axes. */
  readonly inOuter: readonly number[];
  readonly inRowStrides: readonly number[];
  /** Per axis, the cells added before the input. */
  readonly before: readonly number[];
  /** Floats of an input row and of an output row. */
  readonly inInner: number;
  readonly inner: number;
  /** The constant, rounded to float32 as the arena stores it. */
  readonly value: number;
}

/** Constant padding; the units are output rows: the constant, the input's row if it lies inside, the constant. */
export const padKernel: CpuKernel<PadStep> = {
  op: 'pad',
  prepare(node, ctx) {
    const { paddings, value } = attrsOf(node, pad);
    const inShape = ctx.graph.value(node.inputs[0]).shape;
    const out = node.output.shape;
    // A rank-0 pad is a copy of one float: one row of one element.
    const outShape = out.length ? [...out] : [1];
    const xShape = inShape.length ? [...inShape] : [1];
    const pads = paddings.length ? paddings : [[0, 0] as const];
    const before = pads.map(([b]) => b);
    // Trailing axes without padding join the axis before them (NHWC padded in H and W: rows of
    // W x C floats, not of C): fewer, longer rows. (The cells after the input are what the row leaves.)
    for (let axis = pads.length - 1; axis > 0 && pads[axis][0] === 0 && pads[axis][1] === 0; axis--) {
      const size = xShape.pop()!;
      outShape.pop();
      before.pop();
      xShape[axis - 1] *= size;
      outShape[axis - 1] *= size;
      before[axis - 1] *= size;
    }
    const rank = outShape.length;
    return {
      kernel: 'pad',
      node: node.name,
      units: outShape.slice(0, -1).reduce((p, d) => p * d, 1),
      costPerUnit: outShape[rank - 1],
      x: ctx.operand(node.inputs[0]),
      y: ctx.output(node),
      outer: outShape.slice(0, -1),
      inOuter: xShape.slice(0, -1),
      inRowStrides: rowMajorStrides(xShape.slice(0, -1)),
      before,
      inInner: xShape[rank - 1],
      inner: outShape[rank - 1],
      value: Math.fround(value),
    };
  },
  run(s, mem, start, end) {
    const x = view(mem, s.x);
    const y = view(mem, s.y);
    const last = s.outer.length;
    const lead = s.before[last];
    for (let u = start; u < end; u++) {
      const dst = s.y.off + u * s.inner;
      // The input row of output row u, or -1 where u lies in the padding of an outer axis.
      let row = 0;
      for (let a = last - 1, rest = u; a >= 0; a--) {
        const i = rest % s.outer[a];
        rest = (rest - i) / s.outer[a];
        const src = i - s.before[a];
        if (src < 0 || src >= s.inOuter[a]) {
          row = -1;
          break;
        }
        row += src * s.inRowStrides[a];
      }
      if (row < 0) {
        fill(y, dst, s.value, 0, s.inner);
        continue;
      }
      fill(y, dst, s.value, 0, lead);
      copy(x, s.x.off + row * s.inInner, y, dst + lead, 0, s.inInner);
      fill(y, dst, s.value, lead + s.inInner, s.inner);
    }
  },
};
