import { clampOp } from './clamp.js';
import { relu6Value } from './numerics.js';

/** tf.nn.relu6: min(max(x, 0), 6); relu6(NaN) = NaN; relu6(-0) = +0. */
export const relu6 = clampOp('relu6', relu6Value);
