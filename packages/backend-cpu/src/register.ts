import { defaultContainer, kernelRegistry, registerBackend } from '@tessera/runtime';
import { CpuBackend, cpuWasmSimdSupported } from './backend.js';
import { CPU_KERNELS } from './ops/index.js';
import { wasmRelaxedSimdSupported } from './kernels/wasm/module.js';

// Imported by both entry points: the kernels are in the registry whichever a program loads first.
for (const k of CPU_KERNELS) kernelRegistry.register('cpu', k.op, k);
registerBackend(
  defaultContainer,
  'cpu',
  () => new CpuBackend(),
  cpuWasmSimdSupported()
    ? `WebAssembly ${wasmRelaxedSimdSupported() ? 'relaxed ' : ''}SIMD GEMM + TypeScript kernels on the calling thread`
    : 'TypeScript kernels on the calling thread (no WebAssembly SIMD)',
);
