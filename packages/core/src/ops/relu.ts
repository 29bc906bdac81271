import { clampOp } from './clamp.js';
import { reluValue } from './numerics.js';

/** tf.nn.relu: max(x, 0); relu(NaN) = NaN; relu(-0) = +0. */
export const relu = clampOp('relu', reluValue);
