/**
 * @tessera/backend-cpu/kernels: for a scheduler that runs the cpu kernels itself
 * (backend-workers) and for tests of them. A program is plain data (`compileProgram`), so other
 * threads can receive it; each thread runs ranges of its steps with `cpuKernel(step.kernel)` on
 * its own `Memory` (views of the shared arena and weights, and its own GEMM) and scratch.
 */
import './register.js';

// Programs: compile a plan into steps, move feeds and outputs, size the scratch.
export {
  compileProgram, programAlgorithms, programEpilogues, takenEvents, emptyEvents, view, Scratch,
  type Program, type Step, type Ref, type Memory, type CpuKernel, type PrepareContext, type CompileOptions, type GemmPath, type AlgorithmMode,
} from './program.js';
export { cpuKernel, writeInputs, readOutputs, ioBuffers, maxScratch, compileOptionsFor } from './backend.js';
export { loadWasmWinogradModule } from './kernels/wasm/winograd.js';
export { CPU_KERNELS } from './ops/index.js';
export { allocating, checkArrayLimits, noWasmReason, wasmMemoryReason, MAX_ARRAY_FLOATS } from './limits.js';
export type { ConvStep } from './ops/conv2d.js';
export type { MatmulStep, MatmulStrassenStep } from './ops/matmul.js';

// Memories: the wasm GEMM on one shared WebAssembly.Memory (a scratch region per thread), or on
// an unshared one for a program that runs on one thread.
export {
  WasmGemm, jsGemm, isPointwise, sharedWasmMemorySupported, loadSharedWasmGemmModule, createSharedWasmArena,
  loadWasmGemmModule, createWasmArena, type Gemm, type WasmThreadScratch, type SharedWasmArena,
} from './kernels/index.js';

/** Every kernel function, for tests and micro-benchmarks. */
export * as kernels from './kernels/index.js';

// Chains and item runs: when a step may run on a range right after the step before it.
export { arenaRegion, ChainMemory, elementwiseFollower, itemMajor, overlaps, transposesA, type Interval } from './chain-rules.js';
export { itemRuns, type ItemRun } from './item-runs.js';
