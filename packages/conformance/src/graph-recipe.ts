import type { Activation, OpName } from '@tessera/core';
import fc from 'fast-check';
import { dataSpecArbitrary, type DataSpec } from './data.js';

/*
 * The recipe of a random graph (see graphs.ts): an input shape and a list of steps, each with its
 * own named choices for every op it might become. Every choice shrinks towards the simplest
 * (relu, kernel 1, stride 1, SAME, no activation, no transposes, no partner), and the interpreter clamps each to what the
 * shape at hand allows, so any recipe yields a valid graph.
 */

/**
 * The ops random graphs draw: every op of core's table but those in GRAPH_OPS_EXCLUDED (a test
 * checks the two partition the table). To draw an excluded op, move it from there to here.
 */
export const GRAPH_OPS: readonly OpName[] = [
  'relu', 'conv2d', 'bias_add', 'fused_conv2d', 'maxpool', 'reshape', 'slice', 'matmul', 'fused_matmul',
  'add', 'mul', 'relu6', 'pad', 'concat', 'avg_pool', 'mean', 'softmax', 'batch_norm', 'depthwise_conv2d',
  'fused_depthwise_conv2d', 'transpose',
];

/** Ops of core's table the random graphs leave out, each with why. */
export const GRAPH_OPS_EXCLUDED: Readonly<Partial<Record<OpName, string>>> = {};

export interface ConvChoice {
  /** Wanted kernel height and width (1..5), shrunk to fit a VALID or explicitly padded input. */
  readonly kernel: readonly [number, number];
  /** 1..3 each; 1 when dilated. */
  readonly strides: readonly [number, number];
  /** Dilation 2 in both directions (1 in 5). */
  readonly dilated: boolean;
  readonly padding: 'SAME' | 'VALID' | 'explicit';
  /** For explicit padding: top, bottom, left, right (0..2 each). */
  readonly pads: readonly [number, number, number, number];
  /** Output channels (1..8), fewer if the budget requires. */
  readonly channels: number;
  /** depthwise_conv2d's channel multiplier (1..3), lower if the budget requires. */
  readonly multiplier: number;
  /** For fused_conv2d and fused_depthwise_conv2d. */
  readonly activation: Activation;
}

export interface PoolChoice {
  /** Window height and width (1..4), no larger than the input with VALID. */
  readonly window: readonly [number, number];
  /** 1..3 each. */
  readonly strides: readonly [number, number];
  readonly padding: 'SAME' | 'VALID';
}

export interface MatmulChoice {
  /** 1 in 4. */
  readonly transposeA: boolean;
  readonly transposeB: boolean;
  /** Multiply by an earlier rank-2 value whose shape lines up, if any (1 in 3), instead of weights. */
  readonly partner: boolean;
  /** Columns of the weights (1..16), fewer if the budget requires. */
  readonly columns: number;
  /** For a rank-3 operand: weights with the batch dimension too. */
  readonly batchedWeights: boolean;
  /** For fused_matmul. */
  readonly activation: Activation;
}

export interface ReshapeChoice {
  /** Which target among those for the operand's rank (taken modulo their count). */
  readonly form: number;
  /** Write one dimension of the target as -1. */
  readonly wildcard: boolean;
  /** Which dimension is -1 (modulo the target's rank). */
  readonly wildcardAt: number;
  /** For a rank-2 operand reshaped to rank 3: which divisor of the rows leads (modulo their count). */
  readonly divisor: number;
}

export interface SliceAxisChoice {
  /** 1..2. */
  readonly stride: number;
  /** Start, modulo the dimension. */
  readonly begin: number;
  /** Element count less 1, modulo how many the start and stride leave. */
  readonly size: number;
}

export interface BinaryChoice {
  /**
   * The second operand: an earlier value of the same shape (a residual connection) when one
   * exists and this is true (1 in 2), else weights of the form chosen by `form`.
   */
  readonly partner: boolean;
  /** The partner is the latest such value (after a fork, the other branch), not the earliest (a residual's shortcut). */
  readonly latest: boolean;
  /** Weights: 0 the operand's shape, 1 its channels ([C]), 2 a scalar, 3 the operand's shape with its leading dimensions 1. */
  readonly form: number;
  /** The weights are operand 0 and the computed value operand 1 (1 in 4). */
  readonly swap: boolean;
}

export interface PadChoice {
  /** [before, after] per axis (0..2 each; 4 drawn, a lower rank reads the first ones). */
  readonly pads: readonly (readonly [number, number])[];
  /** Pad the channels (last axis) of a rank-4 value too, not only height and width (1 in 4). */
  readonly channels: boolean;
  readonly value: number;
}

export interface ConcatChoice {
  /** Which axis (modulo the rank); rank 4 prefers the channels. */
  readonly axis: number;
  /** Written as a negative axis. */
  readonly negative: boolean;
  /** Join with an earlier value that differs only on that axis, when one exists (1 in 2); else with the value itself or weights. */
  readonly partner: boolean;
  /** Without a partner: the value with itself (true) or with weights along the axis (1..4 wide). */
  readonly self: boolean;
  readonly width: number;
}

export interface TransposeChoice {
  /** 0: NHWC -> NCHW ([0,3,1,2]), 1: NCHW -> NHWC ([0,2,3,1]) (rank 4; other ranks read 2), 2: axes sorted by `keys`, 3: TF's default (reversed). */
  readonly form: number;
  /** One per axis (4 drawn; a lower rank reads the first ones). */
  readonly keys: readonly number[];
}

export interface MeanChoice {
  readonly keepdims: boolean;
  /** Axes written as negative numbers. */
  readonly negative: boolean;
}

export interface BatchNormChoice {
  /** Which epsilon (modulo their count): TensorFlow's default 1e-3, Keras ResNet50's 1.001e-5, ONNX's 1e-5. */
  readonly epsilon: number;
  /** Fraction of channels whose variance is tiny (epsilon then dominates). */
  readonly tinyVariances: number;
}

export interface GraphStep {
  /** Which op, among those that apply to the operand's rank (modulo their count). */
  readonly op: number;
  /** 0: the latest value; k > 0: the value k places before it (a second consumer). */
  readonly from: number;
  /**
   * After an op with usual successors (a linear op: bias_add or batch_norm; batch_norm: relu6 or
   * relu; pad: a conv or a pool; a global mean: a matmul), one of them instead of `op` (2 in 3).
   */
  readonly follow: boolean;
  /** Which successor (modulo their count). */
  readonly successor: number;
  readonly conv: ConvChoice;
  readonly pool: PoolChoice;
  readonly matmul: MatmulChoice;
  readonly reshape: ReshapeChoice;
  /** One per axis of the operand (4 drawn; a lower rank reads the first ones). */
  readonly slice: readonly SliceAxisChoice[];
  readonly binary: BinaryChoice;
  readonly pad: PadChoice;
  readonly concat: ConcatChoice;
  readonly transpose: TransposeChoice;
  readonly mean: MeanChoice;
  readonly batchNorm: BatchNormChoice;
  /** Data of the step's weights and bias. */
  readonly data: DataSpec;
  readonly weightsAsInput: boolean;
  /** Also make this step's result a graph output even if something consumes it. */
  readonly alsoOutput: boolean;
}

export interface GraphRecipe {
  readonly input: readonly [number, number, number, number];
  readonly inputData: DataSpec;
  readonly steps: readonly GraphStep[];
}

const int = (min: number, max: number) => fc.integer({ min, max });
const pair = (min: number, max: number) => fc.tuple(int(min, max), int(min, max));
/** True in `ones` of `outOf` draws; shrinks to false. */
const oneIn = (ones: number, outOf: number) => fc.constantFrom(...Array.from({ length: outOf }, (_, i) => i >= outOf - ones));

const activationArb = fc.constantFrom<Activation>('none', 'relu', 'relu6');

const convArb: fc.Arbitrary<ConvChoice> = fc.record({
  kernel: pair(1, 5),
  strides: pair(1, 3),
  dilated: oneIn(1, 5),
  padding: fc.constantFrom('SAME', 'VALID', 'explicit'),
  pads: fc.tuple(int(0, 2), int(0, 2), int(0, 2), int(0, 2)),
  channels: int(1, 8),
  multiplier: int(1, 3),
  activation: activationArb,
});

const poolArb: fc.Arbitrary<PoolChoice> = fc.record({ window: pair(1, 4), strides: pair(1, 3), padding: fc.constantFrom('SAME', 'VALID') });

const matmulArb: fc.Arbitrary<MatmulChoice> = fc.record({
  transposeA: oneIn(1, 4),
  transposeB: fc.boolean(),
  partner: oneIn(1, 3),
  columns: int(1, 16),
  batchedWeights: fc.boolean(),
  activation: activationArb,
});

const reshapeArb: fc.Arbitrary<ReshapeChoice> = fc.record({ form: fc.nat(3), wildcard: fc.boolean(), wildcardAt: fc.nat(3), divisor: fc.nat(1000) });

const sliceAxisArb: fc.Arbitrary<SliceAxisChoice> = fc.record({ stride: int(1, 2), begin: fc.nat(1000), size: fc.nat(1000) });

const binaryArb: fc.Arbitrary<BinaryChoice> = fc.record({ partner: fc.boolean(), latest: fc.boolean(), form: fc.nat(3), swap: oneIn(1, 4) });

const padArb: fc.Arbitrary<PadChoice> = fc.record({
  pads: fc.array(pair(0, 2), { minLength: 4, maxLength: 4 }),
  channels: oneIn(1, 4),
  value: fc.constantFrom(0, 0, 0, 1, -1, -0),
});

const concatArb: fc.Arbitrary<ConcatChoice> = fc.record({
  axis: fc.nat(7),
  negative: fc.boolean(),
  partner: fc.boolean(),
  self: fc.boolean(),
  width: int(1, 4),
});

const transposeArb: fc.Arbitrary<TransposeChoice> = fc.record({ form: fc.nat(3), keys: fc.array(fc.nat(20), { minLength: 4, maxLength: 4 }) });

const meanArb: fc.Arbitrary<MeanChoice> = fc.record({ keepdims: fc.boolean(), negative: oneIn(1, 4) });

const batchNormArb: fc.Arbitrary<BatchNormChoice> = fc.record({ epsilon: fc.nat(2), tinyVariances: fc.constantFrom(0, 0.25, 0.5, 1) });

const stepArb: fc.Arbitrary<GraphStep> = fc.record({
  op: fc.nat(1000),
  from: fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: int(1, 4), weight: 1 }),
  follow: oneIn(2, 3),
  successor: fc.nat(3),
  conv: convArb,
  pool: poolArb,
  matmul: matmulArb,
  reshape: reshapeArb,
  slice: fc.array(sliceAxisArb, { minLength: 4, maxLength: 4 }),
  binary: binaryArb,
  pad: padArb,
  concat: concatArb,
  transpose: transposeArb,
  mean: meanArb,
  batchNorm: batchNormArb,
  data: dataSpecArbitrary({ maxExp: 2, minExp: -6 }),
  weightsAsInput: oneIn(1, 4),
  alsoOutput: oneIn(1, 5),
});

export function graphRecipeArbitrary({ minOps = 1, maxOps = 12 }: { minOps?: number; maxOps?: number } = {}): fc.Arbitrary<GraphRecipe> {
  return fc.record({
    input: fc.tuple(int(1, 2), int(1, 10), int(1, 10), int(1, 6)),
    inputData: dataSpecArbitrary({ maxExp: 6, minExp: -8 }),
    steps: fc.array(stepArb, { minLength: minOps, maxLength: maxOps }),
  });
}
