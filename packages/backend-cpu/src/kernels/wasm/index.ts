export {
  WASM_GEMM_CONFIG,
  WASM_MR,
  WASM_NR,
  WASM_GEMM_SCRATCH_BYTES,
  wasmGemmModule,
  loadWasmGemmModule,
  loadSharedWasmGemmModule,
  wasmPackedBSize,
  packBWasmInto,
  WasmGemm,
  wasmGemmLayout,
} from './gemm.js';
export { wasmSimdSupported, wasmRelaxedSimdSupported, sharedWasmMemorySupported } from './module.js';
export { type WasmArena, createWasmArena, type WasmThreadScratch, type SharedWasmArena, createSharedWasmArena } from './arena.js';
export { buildGemmModule, simdProbe, type GemmModuleConfig } from './gemm-module.js';
export { WasmDepthwise, wasmDepthwiseModule, loadWasmDepthwiseModule } from './depthwise.js';
