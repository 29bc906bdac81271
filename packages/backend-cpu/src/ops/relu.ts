import { elementwiseFor } from '../kernels/wasm/elementwise.js';
import { clampKernel } from './clamp.js';

/** max(x, 0) with NaN kept and +0 for x <= 0 (wasm SIMD where the memory has it). */
export const reluKernel = clampKernel('relu', (x, xOff, y, yOff, start, end, mem) =>
  elementwiseFor(mem, x, y).relu(x, xOff, y, yOff, start, end),
);
