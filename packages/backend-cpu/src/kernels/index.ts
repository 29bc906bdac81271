export {
  GEMM_MR,
  GEMM_NR,
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
export { type Conv2dGeometry, conv2dScratchSize, conv2d, im2col } from './conv2d.js';
export { maxpool } from './maxpool.js';
export { biasAdd, biasAddRelu, relu, copy } from './elementwise.js';
