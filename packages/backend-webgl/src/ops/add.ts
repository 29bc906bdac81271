import type { WebGLKernel } from '../program.js';
import { prepareBinary } from './binary.js';

/** a + b with NumPy broadcasting (ops/binary.ts). */
export const addKernel: WebGLKernel = { op: 'add', prepare: (node, ctx) => prepareBinary(node, ctx, '+') };
