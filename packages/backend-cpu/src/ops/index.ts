import type { CpuKernel } from '../program.js';
import { addKernel } from './add.js';
import { biasAddKernel } from './bias_add.js';
import { concatKernel } from './concat.js';
import { conv2dKernel, conv2dWinogradKernel } from './conv2d.js';
import { fusedConv2dKernel } from './fused_conv2d.js';
import { fusedMatmulKernel } from './fused_matmul.js';
import { matmulColumnsKernel, matmulKernel, matmulStrassenKernel } from './matmul.js';
import { maxpoolKernel } from './maxpool.js';
import { mulKernel } from './mul.js';
import { padKernel } from './pad.js';
import { reluKernel } from './relu.js';
import { relu6Kernel } from './relu6.js';
import { sliceKernel } from './slice.js';
import { batchNormKernel } from './batch_norm.js';
import { depthwiseConv2dKernel } from './depthwise_conv2d.js';
import { fusedDepthwiseConv2dKernel } from './fused_depthwise_conv2d.js';
import { avgPoolKernel } from './avg_pool.js';
import { meanKernel } from './mean.js';
import { softmaxKernel } from './softmax.js';
import { transposeKernel } from './transpose.js';

/** Every cpu kernel, one per op (reshape is a view in the plan and needs none). */
export const CPU_KERNELS: readonly CpuKernel[] = [
  conv2dKernel,
  fusedConv2dKernel,
  // Not an op: the step a conv2d / fused_conv2d compiles to when it runs as Winograd.
  conv2dWinogradKernel,
  biasAddKernel,
  reluKernel,
  maxpoolKernel,
  matmulKernel,
  fusedMatmulKernel,
  // Not an op: the step a matmul / fused_matmul on a few rows compiles to (units: column blocks).
  matmulColumnsKernel,
  // Not an op: the step a matmul / fused_matmul with a large constant b compiles to as Strassen (units: row panels).
  matmulStrassenKernel,
  sliceKernel,
  batchNormKernel,
  depthwiseConv2dKernel,
  fusedDepthwiseConv2dKernel,
  avgPoolKernel,
  meanKernel,
  softmaxKernel,
  addKernel,
  mulKernel,
  relu6Kernel,
  padKernel,
  concatKernel,
  transposeKernel,
] as unknown as CpuKernel[];
