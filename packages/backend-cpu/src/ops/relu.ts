import { clampKernel } from './clamp.js';

/** max(x, 0) with NaN kept and +0 for x <= 0. */
export const reluKernel = clampKernel('relu');
