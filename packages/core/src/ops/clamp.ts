import { z } from 'zod';
import { refTensor, withSignedZeros } from './numerics.js';
import { defineOp } from './spec.js';

/**
 * An op that clamps each element (relu, relu6): shape unchanged, element-wise, every zero it
 * gives is +0 (a specified sign), NaN kept. Clamping is 1-Lipschitz and exact in float32, so the
 * error bound passes through unchanged.
 */
export function clampOp(name: string, value: (x: number) => number) {
  return defineOp({
    name,
    inputs: ['x'],
    elementwise: true,
    attrs: z.object({}).strict(),
    inferShape: ([x]) => x,
    cost: () => ({ macs: 0 }),
    reference([x]) {
      const out = withSignedZeros(refTensor(x.shape, x.value.map(value), x.bound.slice()));
      return x.likely ? { ...out, likely: x.likely.slice() } : out;
    },
  });
}
