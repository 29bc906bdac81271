import type { GraphTransform, ReferenceFn } from '@tessera/conformance';
import type { MutantSpec } from './backend.js';
import * as bl from './blocking.js';
import * as k from './kernels.js';
import * as p from './passes.js';
import * as st from './strassen.js';

export { mutantContainer, MutantBackend, cpuKernelTable } from './backend.js';
export { FULL_RANK_FACTORIZE, factorize } from './passes.js';
export { gemmCopy } from './blocking.js';
export { strassenCopy } from './strassen.js';

/** One deliberately faulty kernel / scheduler / rewrite: a single realistic bug. */
/** What a mutant needs from the suite beyond its defaults: the tfjs oracle (`--oracle tfjs`). */
export interface MutantNeeds {
  readonly oracle?: 'tfjs';
}

export type Mutant =
  | { readonly name: string; readonly bug: string; readonly kind: 'backend'; readonly spec: MutantSpec; readonly reference?: ReferenceFn; readonly needs?: MutantNeeds }
  | { readonly name: string; readonly bug: string; readonly kind: 'pass'; readonly transform: GraphTransform; readonly transformOptions?: Record<string, unknown> };

export const MUTANTS: readonly Mutant[] = [
  { name: 'same-pad-swapped', bug: 'SAME padding: extra pixel before (top/left) instead of after', kind: 'backend', spec: k.samePadSwapped },
  { name: 'stride-w-ignored', bug: 'conv ignores the width stride', kind: 'backend', spec: k.strideWIgnored },
  { name: 'dilation-ignored', bug: 'conv ignores dilations', kind: 'backend', spec: k.dilationIgnored },
  { name: 'residual-ignored', bug: 'fused_conv2d drops its residual operand (the shortcut is never added)', kind: 'backend', spec: k.residualIgnored },
  { name: 'bias-per-row', bug: 'bias_add indexes the bias by row instead of by channel', kind: 'backend', spec: k.biasPerRow },
  { name: 'relu-abs', bug: 'relu computed as |x|', kind: 'backend', spec: k.reluAbs },
  { name: 'relu-keeps-neg-zero', bug: 'relu computed as x < 0 ? 0 : x, so relu(-0) = -0', kind: 'backend', spec: k.reluKeepsNegZero },
  { name: 'maxpool-pad-wins', bug: 'maxpool treats padded cells as 0, so they win over negatives', kind: 'backend', spec: k.maxpoolPadWins },
  { name: 'reshape-transposes', bug: 'reshape moves data (writes [rows, last] column-major)', kind: 'backend', spec: k.reshapeTransposes },
  { name: 'matmul-ignores-transposeB', bug: 'matmul reads b as [k, n] even with transposeB', kind: 'backend', spec: k.matmulIgnoresTransposeB },
  { name: 'im2col-off-by-one', bug: 'im2col bottom bound ih <= inH: reads the row past the image', kind: 'backend', spec: k.im2colOffByOneBug },
  { name: 'half-accumulator', bug: 'matmul accumulates with an 11-bit (float16-like) significand', kind: 'backend', spec: k.halfAccumulator },
  { name: 'partition-off-by-one', bug: 'two-way split of each step skips the unit at the boundary', kind: 'backend', spec: k.partitionBoundary },
  { name: 'gemm-edge-tile-drops-k', bug: '(a) GEMM edge tile (N not a multiple of the register block) drops earlier k-blocks when K > 256', kind: 'backend', spec: bl.gemmEdgeTileDropsK },
  { name: 'gemm-bias-block-local', bug: '(b) GEMM bias pointer from the block-local column when N > 512', kind: 'backend', spec: bl.gemmBiasBlockLocal },
  { name: 'gemm-epilogue-every-k', bug: '(c) GEMM bias / residual / activation epilogue after every k-block instead of the last (K > 256)', kind: 'backend', spec: bl.gemmEpilogueEveryK },
  { name: 'gemm-transA-row-block', bug: '(d) transposed-A packing drops the row-block offset when M > 60', kind: 'backend', spec: bl.gemmTransARowBlock },
  { name: 'strassen-sign-flipped', bug: 'Strassen matmul (reported as strassen-1): C21 adds P4 instead of subtracting it', kind: 'backend', spec: st.strassenSignFlipped },
  { name: 'bias-add-range-channel0', bug: '(e) bias_add range starting mid-row assumes channel 0 (only split ranges start there)', kind: 'backend', spec: bl.biasAddRangeChannel0 },
  {
    name: 'same-pad-swapped-shared',
    bug: '(f) SAME padding with the odd pixel before, in the reference and the backend alike',
    kind: 'backend',
    spec: bl.samePadSwappedShared,
    reference: bl.samePadSwappedShared.reference,
    needs: { oracle: 'tfjs' },
  },
  { name: 'compose-ignores-relu', bug: '(g) composes a 1x1 conv into a preceding fused_conv2d with an activation (relu or relu6)', kind: 'pass', transform: p.composeIgnoresRelu },
  { name: 'fold-batch-norm-ignores-epsilon', bug: 'batch-norm folding scales by scale / sqrt(variance), without epsilon', kind: 'pass', transform: p.foldBatchNormIgnoresEpsilon },
  { name: 'fusion-ignores-consumers', bug: 'conv/matmul + bias_add fused although the conv has another consumer', kind: 'pass', transform: p.fusionIgnoresConsumers },
  {
    name: 'factorization-drops-bias',
    bug: 'Tucker-2 factorization loses the bias of its last 1x1 conv',
    kind: 'pass',
    transform: p.factorizationDropsBias,
    transformOptions: p.FULL_RANK_FACTORIZE,
  },
];
