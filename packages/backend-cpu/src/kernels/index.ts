export { type GemmPath, type GemmCall, type GemmLayout, type Gemm, gemmCall, releaseGemmCall } from './gemm-call.js';
export { GEMM_MR, GEMM_NR, GEMM_KC, packedBSize, packBInto, packB, gemm, jsGemm } from './gemm.js';
export { type Conv2dGeometry, type ConvCall, convCall, releaseConvCall, conv2dScratchSize, conv2d, im2col, isPointwise } from './conv2d.js';
export * from './wasm/index.js';
export { maxpool } from './maxpool.js';
export { type ElementwiseKernels, jsElementwise, relu, relu6, copy, fill } from './elementwise.js';
export { avgPool } from './avg_pool.js';
export { type DepthwiseCall, depthwise, jsDepthwise } from './depthwise.js';
export { type BroadcastGeometry, type BinaryOp, broadcastGeometry, binaryBroadcast } from './broadcast.js';
