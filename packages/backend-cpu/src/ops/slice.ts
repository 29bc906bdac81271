import { attrsOf, rowMajorStrides, slice } from '@tessera/core';
import { copy } from '../kernels/index.js';
import { view, type CpuKernel, type Ref, type Step } from '../program.js';

export interface SliceStep extends Step {
  readonly x: Ref;
  readonly y: Ref;
  /** Output shape without its last axis; each unit is one run along the last axis. */
  readonly outer: readonly number[];
  readonly inStrides: readonly number[];
  readonly begin: readonly number[];
  readonly strides: readonly number[];
  readonly inner: number;
}

/** Strided slice; the units are output rows (runs along the last axis). */
export const sliceKernel: CpuKernel<SliceStep> = {
  op: 'slice',
  prepare(node, ctx) {
    const { begin, strides } = attrsOf(node, slice);
    const out = node.output.shape;
    const outer = out.slice(0, -1);
    return {
      kernel: 'slice',
      node: node.name,
      units: outer.reduce((p, d) => p * d, 1),
      costPerUnit: out[out.length - 1],
      x: ctx.operand(node.inputs[0]),
      y: ctx.output(node),
      outer,
      inStrides: rowMajorStrides(ctx.graph.value(node.inputs[0]).shape),
      begin,
      strides,
      inner: out[out.length - 1],
    };
  },
  run(s, mem, start, end) {
    const x = view(mem, s.x);
    const y = view(mem, s.y);
    const last = s.begin.length - 1;
    const step = s.strides[last] * s.inStrides[last];
    for (let u = start; u < end; u++) {
      // Source offset of output row u: decompose u over the outer axes.
      let src = s.x.off + s.begin[last] * s.inStrides[last];
      for (let a = s.outer.length - 1, rest = u; a >= 0; a--) {
        const i = rest % s.outer[a];
        rest = (rest - i) / s.outer[a];
        src += (s.begin[a] + i * s.strides[a]) * s.inStrides[a];
      }
      const dst = s.y.off + u * s.inner;
      if (step === 1) copy(x, src, y, dst, 0, s.inner);
      else for (let j = 0; j < s.inner; j++) y[dst + j] = x[src + j * step];
    }
  },
};
