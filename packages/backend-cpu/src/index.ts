import { defaultContainer, kernelRegistry, registerBackend } from '@tessera/runtime';
import { CpuBackend, cpuWasmSimdSupported } from './backend.js';
import { CPU_KERNELS } from './ops/index.js';

for (const k of CPU_KERNELS) kernelRegistry.register('cpu', k.op, k);
registerBackend(
  defaultContainer,
  'cpu',
  () => new CpuBackend(),
  cpuWasmSimdSupported()
    ? 'WebAssembly SIMD GEMM + TypeScript kernels on the calling thread'
    : 'TypeScript kernels on the calling thread (no WebAssembly SIMD)',
);

export {
  CpuBackend,
  type CpuBackendOptions,
  type CpuGemmPath,
  cpuGemmPath,
  cpuWasmSimdSupported,
  cpuKernel,
  writeInputs,
  readOutputs,
  ioBuffers,
} from './backend.js';
export { CPU_KERNELS } from './ops/index.js';
export type { ConvStep } from './ops/conv2d.js';
export type { MatmulStep } from './ops/matmul.js';
export * from './program.js';
export * as kernels from './kernels/index.js';
/** For the workers backend: the wasm GEMM on one shared WebAssembly.Memory, a scratch region per thread. */
export {
  WasmGemm,
  sharedWasmMemorySupported,
  loadSharedWasmGemmModule,
  createSharedWasmArena,
  type WasmThreadScratch,
  type SharedWasmArena,
} from './kernels/wasm/gemm.js';
