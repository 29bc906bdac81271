import { z } from 'zod';
import { OpError } from '../errors.js';
import { checkShape, numel, shapeStr } from '../shape.js';
import { refTensor } from './numerics.js';
import { defineOp } from './spec.js';

/** tf.reshape: row-major, at most one -1 (inferred), element counts must match. No data moves. */
export const reshape = defineOp({
  name: 'reshape',
  inputs: ['x'],
  view: true,
  attrs: z
    .object({ shape: z.array(z.number().int().min(-1).max(2 ** 31 - 1)).min(1).max(8) })
    .strict(),
  inferShape([x], { shape }) {
    const inferred = shape.filter((d) => d === -1).length;
    if (inferred > 1) throw new OpError(`shape ${shapeStr(shape)} has more than one -1`);
    if (shape.includes(0)) throw new OpError(`shape ${shapeStr(shape)} has a zero dimension`);
    const total = numel(x);
    const known = shape.reduce((p, d) => (d === -1 ? p : p * d), 1);
    let out = shape;
    if (inferred === 1) {
      if (total % known !== 0) {
        throw new OpError(`cannot reshape ${shapeStr(x)} (${total} elements) to ${shapeStr(shape)}: ${total} is not a multiple of ${known}`);
      }
      out = shape.map((d) => (d === -1 ? total / known : d));
    } else if (known !== total) {
      throw new OpError(`cannot reshape ${shapeStr(x)} (${total} elements) to ${shapeStr(shape)} (${known} elements)`);
    }
    checkShape(out, 'output');
    return out;
  },
  cost: () => ({ macs: 0 }),
  reference([x], _attrs, output) {
    const out = { ...refTensor(output, x.value.slice(), x.bound.slice()), ...(x.likely ? { likely: x.likely.slice() } : {}) };
    return x.zeroSign ? { ...out, zeroSign: x.zeroSign.slice() } : out;
  },
});
