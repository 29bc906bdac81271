/**
 * @tessera/backend-cpu: the 'cpu' backend (registered on import) and its options. A scheduler
 * that runs the cpu kernels itself (backend-workers) imports `@tessera/backend-cpu/kernels`.
 */
import './register.js';

export { CpuBackend, type CpuBackendOptions, type CpuGemmPath, cpuGemmPath, cpuSimdLevel, cpuWasmSimdSupported, liveCpuExecutables, algorithmMode } from './backend.js';
export type { AlgorithmMode } from './program.js';
