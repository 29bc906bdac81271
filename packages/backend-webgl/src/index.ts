import { defaultContainer, kernelRegistry, registerBackend } from '@tessera/runtime';
import { WebGLBackend } from './backend.js';
import { WEBGL_KERNELS } from './ops/index.js';

for (const k of WEBGL_KERNELS) kernelRegistry.register('webgl', k.op, k);
registerBackend(defaultContainer, 'webgl', () => new WebGLBackend(), 'WebGL2 fragment shaders on RGBA32F textures (browser)');

export { WebGLBackend, WebGLExecutable, webglKernel, type WebGLBackendOptions } from './backend.js';
export { ContextLostError, Device, WebGLUnavailableError, type DeviceOptions, type LiveCounts } from './device.js';
export { layoutOf, viewLayout, type Layout } from './layout.js';
export { WEBGL_KERNELS } from './ops/index.js';
export type { PrepareContext, TensorRef, WebGLKernel } from './program.js';
export type { PoolCounts } from './texture-pool.js';
