export {
  GEMM_MR,
  GEMM_NR,
  GEMM_KC,
  type GemmEpilogue,
  type PackedB,
  packedBSize,
  packedBView,
  packBInto,
  packB,
  gemm,
  gemmUnpackedScratchSize,
  gemmUnpacked,
} from './gemm.js';
export { type Conv2dGeometry, type ConvGemm, conv2dScratchSize, conv2dChunked, conv2d, im2col, isPointwise } from './conv2d.js';
export * from './wasm/index.js';
export { maxpool } from './maxpool.js';
export { biasAdd, biasAddRelu, relu, copy } from './elementwise.js';
