import { z } from 'zod';
import { forEachPoolWindow, poolGeometry, poolOp } from './maxpool.js';
import { DotAccumulator, meanBound, meanLikely, refTensorWithLikely } from './numerics.js';
import { defineOp, type RefTensor } from './spec.js';
import { pair, paddingSchema } from './window.js';

/**
 * tf.nn.avg_pool2d (NHWC): maxpool's window geometry (SAME / VALID, and explicit pads smaller
 * than the window), each output the mean of its window's cells inside the input: padded cells are
 * neither added nor counted, as TensorFlow does.
 *
 * Bound: the window's float32 sum of `count` terms is bounded as a sum of products with an exact 1
 * (`dotBound(count, sum |x|)` plus the inputs' bounds, which add), divided by `count`, plus one
 * division's rounding (`divBound`). Sums leave the sign of a zero unspecified.
 */
export const avgPoolAttrs = z
  .object({
    ksize: pair,
    strides: pair,
    padding: paddingSchema,
  })
  .strict();
export type AvgPoolAttrs = z.output<typeof avgPoolAttrs>;

export const avgPool = defineOp({
  name: 'avg_pool',
  ...poolOp,
  attrs: avgPoolAttrs,
  reference([x], attrs): RefTensor {
    const g = poolGeometry(x.shape, attrs);
    const out = refTensorWithLikely([g.batch, g.outH, g.outW, g.outC]);
    const acc = new DotAccumulator();
    forEachPoolWindow(g, (o, cells, c) => {
      acc.reset();
      for (const cell of cells) acc.add(x.value[cell + c], x.bound[cell + c], 1, 0);
      const mean = acc.value / cells.length;
      out.value[o] = mean;
      out.bound[o] = meanBound(acc, cells.length, mean);
      out.likely[o] = meanLikely(acc, cells.length, mean);
    });
    return out;
  },
});
