import { defaultContainer, kernelRegistry, registerBackend } from '@tessera/runtime';
import { CpuBackend } from './backend.js';
import { CPU_KERNELS } from './ops/index.js';

for (const k of CPU_KERNELS) kernelRegistry.register('cpu', k.op, k);
registerBackend(defaultContainer, 'cpu', () => new CpuBackend(), 'TypeScript kernels on the calling thread');

export { CpuBackend, cpuKernel, writeInputs, readOutputs } from './backend.js';
export { CPU_KERNELS } from './ops/index.js';
export * from './program.js';
export * as kernels from './kernels/index.js';
