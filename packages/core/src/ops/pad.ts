import { z } from 'zod';
import { FLOAT32_MAX } from '../compare.js';
import { OpError } from '../errors.js';
import { checkShape, numel, shapeStr, type Shape } from '../shape.js';
import { refTensor } from './numerics.js';
import { rowMajorStrides } from './slice.js';
import { defineOp } from './spec.js';

const padCount = z.number().int().min(0).max(2 ** 31 - 1);

/**
 * tf.pad, constant mode: `paddings` holds one [before, after] pair of non-negative integers per
 * dimension of x, and every added cell is `value` (default 0; a finite number in float32's range,
 * rounded to float32). Values, bounds and zero signs of x are copied; the added cells are exact,
 * so their bound is 0 and a zero `value` has a specified sign.
 */
export const padAttrs = z
  .object({
    paddings: z.array(z.tuple([padCount, padCount])).max(8),
    value: z.number().min(-FLOAT32_MAX).max(FLOAT32_MAX).default(0),
  })
  .strict();
export type PadAttrs = z.output<typeof padAttrs>;

export const pad = defineOp({
  name: 'pad',
  inputs: ['x'],
  attrs: padAttrs,
  inferShape([x], { paddings }) {
    if (paddings.length !== x.length) {
      throw new OpError(`paddings has ${paddings.length} [before, after] pairs for input ${shapeStr(x)} of rank ${x.length}: one per dimension`);
    }
    const out = x.map((d, i) => d + paddings[i][0] + paddings[i][1]);
    checkShape(out, 'output');
    return out;
  },
  cost: () => ({ macs: 0 }),
  reference([x], { paddings, value }, output) {
    const n = numel(output);
    const out = { ...refTensor(output), zeroSign: new Uint8Array(n).fill(1) };
    out.value.fill(Math.fround(value));
    const outStrides = rowMajorStrides(output);
    const index = new Array<number>(x.shape.length).fill(0);
    for (let i = 0, m = numel(x.shape); i < m; i++) {
      let o = 0;
      for (let a = 0; a < index.length; a++) o += (index[a] + paddings[a][0]) * outStrides[a];
      out.value[o] = x.value[i];
      out.bound[o] = x.bound[i];
      out.zeroSign[o] = x.zeroSign ? x.zeroSign[i] : 0;
      for (let a = index.length - 1; a >= 0 && ++index[a] === x.shape[a]; a--) index[a] = 0;
    }
    return out;
  },
});
