import type { WebGLKernel } from '../program.js';
import { prepareBinary } from './binary.js';

/** a * b with NumPy broadcasting (ops/binary.ts). */
export const mulKernel: WebGLKernel = { op: 'mul', prepare: (node, ctx) => prepareBinary(node, ctx, '*') };
