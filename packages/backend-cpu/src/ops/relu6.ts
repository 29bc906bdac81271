import { elementwiseFor } from '../kernels/wasm/elementwise.js';
import { clampKernel } from './clamp.js';

/** min(max(x, 0), 6) with NaN kept and +0 for x <= 0 (wasm SIMD where the memory has it). */
export const relu6Kernel = clampKernel('relu6', (x, xOff, y, yOff, start, end, mem) =>
  elementwiseFor(mem, x, y).relu6(x, xOff, y, yOff, start, end),
);
