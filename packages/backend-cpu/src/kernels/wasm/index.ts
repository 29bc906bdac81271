export {
  WASM_GEMM_CONFIG,
  WASM_MR,
  WASM_NR,
  WASM_GEMM_SCRATCH_BYTES,
  wasmSimdSupported,
  wasmGemmModule,
  loadWasmGemmModule,
  wasmPackedBSize,
  packBWasmInto,
  wasmPackedBView,
  WasmGemm,
  type WasmArena,
  createWasmArena,
  sharedWasmMemorySupported,
  loadSharedWasmGemmModule,
  type WasmThreadScratch,
  type SharedWasmArena,
  createSharedWasmArena,
} from './gemm.js';
export { conv2dWasmScratchSize, conv2dWasm } from './conv2d.js';
export { buildGemmModule, simdProbe, type GemmModuleConfig } from './gemm-module.js';
