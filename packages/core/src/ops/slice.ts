import { z } from 'zod';
import { OpError } from '../errors.js';
import { numel, shapeStr, type Shape } from '../shape.js';
import { refTensor } from './numerics.js';
import { defineOp } from './spec.js';

/**
 * Strided slice with positive strides: out[i] = x[begin + i * stride] along every axis,
 * `size` elements per axis. Used to lower a strided 1x1 conv to a matmul.
 */
const dims = z.array(z.number().int().min(0).max(2 ** 31 - 1)).min(1).max(8);
export const sliceAttrs = z.object({ begin: dims, size: dims, strides: dims }).strict();
export type SliceAttrs = z.output<typeof sliceAttrs>;

export const slice = defineOp({
  name: 'slice',
  inputs: ['x'],
  attrs: sliceAttrs,
  inferShape([x], { begin, size, strides }) {
    if (begin.length !== x.length || size.length !== x.length || strides.length !== x.length) {
      throw new OpError(`begin, size and strides must each have ${x.length} entries for input ${shapeStr(x)}`);
    }
    x.forEach((d, i) => {
      if (strides[i] < 1 || size[i] < 1) throw new OpError(`size and strides must be positive on axis ${i}`);
      const last = begin[i] + (size[i] - 1) * strides[i];
      if (last >= d) throw new OpError(`axis ${i}: last index ${last} is outside the input dimension ${d}`);
    });
    return size;
  },
  cost: () => ({ macs: 0 }),
  reference([x], { begin, strides }, output) {
    const n = numel(output);
    const out = { ...refTensor(output), ...(x.zeroSign ? { zeroSign: new Uint8Array(n) } : {}) };
    const inStrides = rowMajorStrides(x.shape);
    const index = new Array<number>(output.length).fill(0);
    for (let o = 0; o < n; o++) {
      let src = 0;
      for (let a = 0; a < output.length; a++) src += (begin[a] + index[a] * strides[a]) * inStrides[a];
      out.value[o] = x.value[src];
      out.bound[o] = x.bound[src];
      if (out.zeroSign) out.zeroSign[o] = x.zeroSign![src];
      for (let a = output.length - 1; a >= 0 && ++index[a] === output[a]; a--) index[a] = 0;
    }
    return out;
  },
});

export function rowMajorStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  for (let i = shape.length - 1, acc = 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}
