import { add } from './add.js';
import { biasAdd } from './bias_add.js';
import { concat } from './concat.js';
import { conv2d } from './conv2d.js';
import { fusedConv2d } from './fused_conv2d.js';
import { fusedMatmul } from './fused_matmul.js';
import { matmul } from './matmul.js';
import { maxpool } from './maxpool.js';
import { mul } from './mul.js';
import { pad } from './pad.js';
import { relu } from './relu.js';
import { relu6 } from './relu6.js';
import { reshape } from './reshape.js';
import { slice } from './slice.js';
import type { OpSpec } from './spec.js';
import { batchNorm } from './batch_norm.js';
import { depthwiseConv2d } from './depthwise_conv2d.js';
import { fusedDepthwiseConv2d } from './fused_depthwise_conv2d.js';
import { avgPool } from './avg_pool.js';
import { mean } from './mean.js';
import { softmax } from './softmax.js';
import { transpose } from './transpose.js';

/** The op table: every op Tessera knows, by name. */
export const OPS = {
  conv2d,
  bias_add: biasAdd,
  relu,
  maxpool,
  reshape,
  matmul,
  fused_conv2d: fusedConv2d,
  fused_matmul: fusedMatmul,
  slice,
  batch_norm: batchNorm,
  depthwise_conv2d: depthwiseConv2d,
  fused_depthwise_conv2d: fusedDepthwiseConv2d,
  avg_pool: avgPool,
  mean,
  softmax,
  add,
  mul,
  relu6,
  pad,
  concat,
  transpose,
} as const satisfies Record<string, OpSpec>;

export type OpName = keyof typeof OPS;

export function isOpName(name: string): name is OpName {
  return Object.prototype.hasOwnProperty.call(OPS, name);
}

export function opSpec(name: string): OpSpec {
  if (!isOpName(name)) throw new Error(`unknown op '${name}' (known: ${Object.keys(OPS).join(', ')})`);
  return OPS[name] as unknown as OpSpec;
}

/**
 * True for an op whose output element i reads element i of operand 0 only (op spec
 * `elementwise`: bias_add, relu, relu6); false for unknown ops.
 */
export function isElementwise(op: string): boolean {
  return isOpName(op) && OPS[op].elementwise === true;
}

/** True for an op that only reinterprets its input (op spec `view`: reshape); false for unknown ops. */
export function isView(op: string): boolean {
  return isOpName(op) && (OPS[op] as OpSpec).view === true;
}

export * from './spec.js';
export * from './numerics.js';
export * from './window.js';
export { conv2d, convGeometry, conv2dAttrs, type Conv2dAttrs, type ConvGeometry } from './conv2d.js';
export { fusedConv2d, fusedConv2dAttrs } from './fused_conv2d.js';
export { fusedDepthwiseConv2d, fusedDepthwiseConv2dAttrs } from './fused_depthwise_conv2d.js';
export { biasAdd } from './bias_add.js';
export { relu } from './relu.js';
export { maxpool, poolGeometry, forEachPoolWindow, type MaxpoolAttrs, type PoolAttrs } from './maxpool.js';
export { reshape } from './reshape.js';
export { matmul, matmulGeometry, type MatmulAttrs, type MatmulGeometry } from './matmul.js';
export { fusedMatmul, fusedMatmulAttrs } from './fused_matmul.js';
export { slice, rowMajorStrides, type SliceAttrs } from './slice.js';
export { batchNorm, batchNormAttrs, BATCH_NORM_OPERANDS, type BatchNormAttrs } from './batch_norm.js';
export { depthwiseConv2d } from './depthwise_conv2d.js';
export { avgPool, avgPoolAttrs, type AvgPoolAttrs } from './avg_pool.js';
export { mean, meanAttrs, reduction, offsetOf, type MeanAttrs, type Reduction } from './mean.js';
export { softmax } from './softmax.js';
export { broadcastShapes, broadcastStrides } from './broadcast.js';
export { add } from './add.js';
export { mul } from './mul.js';
export { relu6 } from './relu6.js';
export { pad, type PadAttrs } from './pad.js';
export { concat, concatAxis, concatGeometry, type ConcatAttrs, type ConcatGeometry } from './concat.js';
export { transpose, transposeAttrs, transposePerm, transposedShape, transposeStrides, transposeData, transposeGeometry, transposeIsReshape, type TransposeAttrs, type TransposeGeometry } from './transpose.js';
