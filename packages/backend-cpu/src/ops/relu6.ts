import { clampKernel } from './clamp.js';

/** min(max(x, 0), 6) with NaN kept and +0 for x <= 0. */
export const relu6Kernel = clampKernel('relu6');
