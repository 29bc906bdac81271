import { binaryKernel } from './binary.js';

/** a * b with NumPy broadcasting; the units are output elements. */
export const mulKernel = binaryKernel('mul');
