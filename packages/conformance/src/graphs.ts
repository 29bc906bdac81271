import { numel, prng, type Activation, type OpName, type Shape, type SymbolicValue } from '@tessera/core';
import type fc from 'fast-check';
import { NEAR_ZERO_VARIANCES } from './arbitraries-cnn.js';
import { CaseBuilder, type ConformanceCase } from './case.js';
import { capSpec, dataMaxAbs, fillData } from './data.js';
import { convGeometry, meanAttrsFor, permFromKeys, poolAttrsFor, reshapeFor, sliceFor } from './graph-geometry.js';
import { GRAPH_OPS, graphRecipeArbitrary, type GraphRecipe, type GraphStep, type TransposeChoice } from './graph-recipe.js';

export { GRAPH_OPS, GRAPH_OPS_EXCLUDED, graphRecipeArbitrary, type GraphRecipe, type GraphStep } from './graph-recipe.js';

/**
 * Random valid graphs. fast-check draws a *recipe* (an input shape and a list of steps, each with
 * named choices for every op it might become: graph-recipe.ts); `buildGraphCase` interprets it,
 * choosing each step's op among those that apply to the shape at hand and clamping each choice
 * to what that shape allows (graph-geometry.ts). Any recipe yields a valid graph, and shrinking a
 * recipe (fewer steps, simpler choices) yields a simpler valid graph.
 */
export interface GraphArbitraryOptions {
  /** Fewest ops (nodes). Default 1. */
  readonly minOps?: number;
  /** Most ops (nodes). Default 12. */
  readonly maxOps?: number;
  /** Budget of multiply-accumulates for the whole graph. Default 200_000. */
  readonly maxMacs?: number;
  /** The ops steps draw from (default GRAPH_OPS); relu stands in wherever the drawn op does not fit. */
  readonly ops?: readonly OpName[];
}

/** Largest element count of any value. */
const MAX_ELEMENTS = 4096;
/** Largest magnitude any value may reach (a conservative estimate), far below float32's 3.4e38. */
const MAX_LOG10 = 30;

/**
 * Random valid graphs of `minOps`..`maxOps` ops over one NHWC input: chains and small DAGs of
 * every op of GRAPH_OPS (convs, depthwise convs and matmuls, usually followed by a bias or a
 * batch_norm and an activation; pools; a global mean before a matmul head; softmax; residual add /
 * mul of computed values or broadcast weights; pad before a conv or a pool; concat), with values consumed twice, several outputs,
 * intermediates that are also outputs, flatten + matmul tails and matmuls of two computed values. Total MACs stay under `maxMacs` (default 2e5).
 */
export function graphArbitrary(options: GraphArbitraryOptions = {}): fc.Arbitrary<ConformanceCase> {
  return graphRecipeArbitrary(options).map((recipe) => buildGraphCase(recipe, options));
}

interface Val {
  readonly sym: SymbolicValue;
  readonly shape: Shape;
  /** Conservative upper bound of |element|. */
  readonly maxAbs: number;
  consumers: number;
  alsoOutput: boolean;
  /** The op that computed it (relu where the drawn op did not fit); undefined for the input. */
  readonly producer?: OpName;
}

/** A step's result: its value and a conservative upper bound of |element|. */
interface Built {
  readonly sym: SymbolicValue;
  readonly maxAbs: number;
}

// Repeated entries weight the choice; relu first, so a shrunk choice is the simplest op.
const RANK4_OPS: readonly OpName[] = [
  'relu', 'conv2d', 'bias_add', 'fused_conv2d', 'maxpool', 'conv2d', 'reshape', 'fused_conv2d', 'maxpool', 'slice', 'conv2d', 'reshape',
  'add', 'mul', 'relu6', 'pad', 'concat', 'add', 'avg_pool', 'mean', 'softmax', 'batch_norm', 'depthwise_conv2d', 'fused_depthwise_conv2d',
  'depthwise_conv2d', 'avg_pool', 'mean', 'batch_norm', 'transpose',
];
const RANK23_OPS: readonly OpName[] = [
  'relu', 'matmul', 'bias_add', 'fused_matmul', 'reshape', 'matmul', 'slice', 'fused_matmul', 'add', 'mul', 'relu6', 'pad', 'concat',
  'softmax', 'batch_norm', 'mean', 'softmax', 'transpose',
];
/** What usually follows an op in a CNN: one of these replaces the drawn op when a step says `follow`. */
const SUCCESSORS: Partial<Record<OpName, readonly OpName[]>> = {
  conv2d: ['bias_add', 'batch_norm'],
  matmul: ['bias_add', 'batch_norm'],
  depthwise_conv2d: ['batch_norm', 'bias_add'],
  batch_norm: ['relu6', 'relu'],
  pad: ['conv2d', 'depthwise_conv2d', 'maxpool', 'avg_pool'],
  // A global average pool's head (rank 2), or a 1x1 conv over its [N, 1, 1, C] (keepdims).
  mean: ['matmul', 'fused_matmul', 'conv2d'],
  // An NCHW <-> NHWC pair (the layout pass's first rewrite) or a composition.
  transpose: ['transpose', 'relu'],
};

/** The op of a step on `src`: a usual successor of its producer (if the step follows one), else the drawn op, among those `ops` allows for its rank. */
function chooseOp(src: Val, step: GraphStep, ops: readonly OpName[]): OpName {
  const table = (src.shape.length === 4 ? RANK4_OPS : RANK23_OPS).filter((op) => ops.includes(op));
  const successors = (src.producer ? (SUCCESSORS[src.producer] ?? []) : []).filter((op) => table.includes(op));
  if (step.follow && successors.length > 0) return successors[step.successor % successors.length];
  return table.length > 0 ? table[step.op % table.length] : 'relu';
}

/** Interprets a recipe as a graph and feeds (deterministic; see `graphArbitrary`). */
export function buildGraphCase(recipe: GraphRecipe, { maxMacs = 200_000, ops = GRAPH_OPS }: GraphArbitraryOptions = {}): ConformanceCase {
  const g = new GraphInterpreter(maxMacs);
  g.add(g.c.input('x', recipe.input, recipe.inputData), dataMaxAbs(recipe.inputData));
  recipe.steps.forEach((step, s) => {
    const src = g.pool[Math.max(0, g.pool.length - 1 - step.from)];
    const op = chooseOp(src, step, ops);
    const built = g.apply(op, src, step);
    const out = built ?? { sym: g.c.b.relu(src.sym), maxAbs: src.maxAbs };
    src.consumers++;
    g.add(out.sym, out.maxAbs, step.alsoOutput && s < recipe.steps.length - 1, built ? op : 'relu');
  });
  // Outputs: every computed value nobody consumes, and those marked to be outputs as well.
  const outputs: Record<string, SymbolicValue> = {};
  g.pool.slice(1).forEach((v) => {
    if (v.consumers === 0 || v.alsoOutput) outputs[`out${Object.keys(outputs).length}`] = v.sym;
  });
  return g.c.build(outputs);
}

/** The graph so far (its values, MACs and weights) and how each op turns a step into nodes. */
class GraphInterpreter {
  readonly c = new CaseBuilder('random_graph');
  readonly pool: Val[] = [];
  private macs = 0;
  private weightCount = 0;
  constructor(private readonly maxMacs: number) {}

  add(sym: SymbolicValue, maxAbs: number, alsoOutput = false, producer?: OpName): void {
    this.pool.push({ sym, shape: sym.shape, maxAbs, consumers: 0, alsoOutput, ...(producer ? { producer } : {}) });
  }

  /** The op's nodes for this step, or undefined for relu or when nothing fits (relu is then used). */
  apply(op: OpName, src: Val, step: GraphStep): Built | undefined {
    switch (op) {
      case 'relu':
        return undefined;
      case 'bias_add':
        return this.biasAdd(src, step);
      case 'conv2d':
      case 'fused_conv2d':
      case 'depthwise_conv2d':
      case 'fused_depthwise_conv2d':
        return this.conv(src, step, op);
      case 'maxpool':
        return { sym: this.c.b.maxpool(src.sym, poolAttrsFor(src.shape, step.pool)), maxAbs: src.maxAbs };
      case 'avg_pool':
        return { sym: this.c.b.avgPool(src.sym, poolAttrsFor(src.shape, step.pool)), maxAbs: src.maxAbs };
      case 'mean':
        return { sym: this.c.b.mean(src.sym, meanAttrsFor(src.shape, step.mean)), maxAbs: src.maxAbs };
      case 'softmax':
        return { sym: this.c.b.softmax(src.sym), maxAbs: 1 };
      case 'batch_norm':
        return this.batchNorm(src, step);
      case 'reshape':
        return { sym: this.c.b.reshape(src.sym, reshapeFor(src.shape, step.reshape)), maxAbs: src.maxAbs };
      case 'slice':
        return { sym: this.c.b.slice(src.sym, sliceFor(src.shape, step.slice)), maxAbs: src.maxAbs };
      case 'matmul':
      case 'fused_matmul':
        return this.matmul(src, step, op === 'fused_matmul');
      case 'add':
      case 'mul':
        return this.binary(src, step, op);
      case 'relu6':
        return { sym: this.c.b.relu6(src.sym), maxAbs: Math.min(src.maxAbs, 6) };
      case 'pad':
        return this.pad(src, step);
      case 'concat':
        return this.concat(src, step);
      case 'transpose':
        return { sym: this.c.b.transpose(src.sym, transposeFor(src.shape, step.transpose)), maxAbs: src.maxAbs };
    }
  }

  /**
   * add / mul of the value with an earlier value of its shape (a residual connection, a gate), or
   * with weights that broadcast to it (its shape, its channels, a scalar, its shape without the
   * batch). The output always has the value's shape.
   */
  private binary(src: Val, step: GraphStep, op: 'add' | 'mul'): Built {
    const choice = step.binary;
    const fitsMagnitude = (maxAbs: number) => (op === 'add' ? src.maxAbs + maxAbs : src.maxAbs * maxAbs) < 10 ** MAX_LOG10;
    const fits = (v: Val) => v !== src && v.shape.length === src.shape.length && v.shape.every((d, i) => d === src.shape[i]) && fitsMagnitude(v.maxAbs);
    const partner = !choice.partner ? undefined : (choice.latest ? [...this.pool].reverse() : this.pool).find(fits);
    let other: Built;
    if (partner) {
      partner.consumers++;
      other = { sym: partner.sym, maxAbs: partner.maxAbs };
    } else {
      const shape = src.shape;
      const forms: Shape[] = [shape, [shape[shape.length - 1]], [], [1, ...shape.slice(1)]];
      const maxLog10 = op === 'add' ? Math.log10(src.maxAbs) + 1 : weightLog10(src.maxAbs, 1);
      other = this.operand(step, op === 'add' ? 'addend' : 'scale', forms[choice.form % forms.length], maxLog10);
    }
    const [a, b] = choice.swap ? [other.sym, src.sym] : [src.sym, other.sym];
    const sym = op === 'add' ? this.c.b.add(a, b) : this.c.b.mul(a, b);
    return { sym, maxAbs: op === 'add' ? src.maxAbs + other.maxAbs : src.maxAbs * other.maxAbs };
  }

  /** Constant padding: height and width of an NHWC value (its channels too, 1 in 4), every axis of a rank-2 / 3 one. */
  private pad(src: Val, step: GraphStep): Built | undefined {
    const { pads, channels, value } = step.pad;
    const rank = src.shape.length;
    const paddings = src.shape.map((_, a): [number, number] => {
      if (rank === 4 && (a === 0 || (a === 3 && !channels))) return [0, 0];
      return [pads[a][0], pads[a][1]];
    });
    if (numel(src.shape.map((d, a) => d + paddings[a][0] + paddings[a][1])) > MAX_ELEMENTS) return undefined;
    return { sym: this.c.b.pad(src.sym, { paddings, value }), maxAbs: Math.max(src.maxAbs, Math.abs(value)) };
  }

  /**
   * Concatenation along an axis (NHWC values: the channels more often than not) with an earlier
   * value that differs only there, or with itself, or with weights of 1..4 along the axis.
   */
  private concat(src: Val, step: GraphStep): Built | undefined {
    const choice = step.concat;
    const rank = src.shape.length;
    const axis = rank === 4 ? [3, 3, 1, 2, 0][choice.axis % 5] : choice.axis % rank;
    const fits = (extra: number) => numel(src.shape) / src.shape[axis] * (src.shape[axis] + extra) <= MAX_ELEMENTS;
    const partner = choice.partner
      ? this.pool.find((v) => v !== src && v.shape.length === rank && v.shape.every((d, i) => i === axis || d === src.shape[i]) && fits(v.shape[axis]))
      : undefined;
    let operands: SymbolicValue[];
    let maxAbs = src.maxAbs;
    if (partner) {
      partner.consumers++;
      operands = [partner.sym, src.sym];
      maxAbs = Math.max(maxAbs, partner.maxAbs);
    } else if (choice.self) {
      if (!fits(src.shape[axis])) return undefined;
      operands = [src.sym, src.sym];
    } else {
      if (!fits(choice.width)) return undefined;
      const w = this.operand(step, 'part', src.shape.map((d, i) => (i === axis ? choice.width : d)), Math.log10(src.maxAbs) + 1);
      operands = [src.sym, w.sym];
      maxAbs = Math.max(maxAbs, w.maxAbs);
    }
    return { sym: this.c.b.concat(operands, { axis: choice.negative ? axis - rank : axis }), maxAbs };
  }

  /** A weight or bias operand whose values stay below 10^(maxLog10 + 1)... or smaller, as the step's data says. */
  private operand(step: GraphStep, prefix: string, shape: Shape, maxLog10: number): Built {
    const spec = capSpec({ ...step.data, seed: step.data.seed + this.weightCount }, maxLog10 - 1);
    const sym = this.c.operand(`${prefix}${++this.weightCount}`, shape, spec, step.weightsAsInput ? 'input' : 'constant');
    return { sym, maxAbs: dataMaxAbs(spec) };
  }

  private fits(shape: Shape, newMacs: number): boolean {
    return numel(shape) <= MAX_ELEMENTS && this.macs + newMacs <= this.maxMacs;
  }

  private biasAdd(src: Val, step: GraphStep): Built {
    const bias = this.operand(step, 'bias', [src.shape[src.shape.length - 1]], Math.log10(src.maxAbs) + 1);
    return { sym: this.c.b.biasAdd(src.sym, bias.sym), maxAbs: src.maxAbs + bias.maxAbs };
  }

  /** conv2d, depthwise_conv2d and their fused forms (bias and activation). */
  private conv(src: Val, step: GraphStep, op: 'conv2d' | 'fused_conv2d' | 'depthwise_conv2d' | 'fused_depthwise_conv2d'): Built | undefined {
    const depthwise = op === 'depthwise_conv2d' || op === 'fused_depthwise_conv2d';
    const geometry = convGeometry(src.shape, step.conv, depthwise, (shape, macs) => this.fits(shape, macs));
    if (!geometry) return undefined;
    const { filter: filterShape, channels, terms, attrs, macs } = geometry;
    const filter = this.operand(step, 'filter', filterShape, weightLog10(src.maxAbs, terms));
    const { activation } = step.conv;
    this.macs += macs;
    const x = src.sym;
    const f = filter.sym;
    return this.product(step, op.startsWith('fused_'), src.maxAbs * filter.maxAbs * terms, channels, {
      plain: () => (depthwise ? this.c.b.depthwiseConv2d(x, f, attrs) : this.c.b.conv2d(x, f, attrs)),
      withBias: (bias) =>
        depthwise
          ? this.c.b.op('fused_depthwise_conv2d', [x, f, bias], { ...attrs, activation })
          : this.c.b.fusedConv2d(x, f, bias, { ...attrs, activation }),
    });
  }

  /**
   * Inference batch_norm over the last axis with per-channel statistics: positive variances (a
   * fraction of them tiny, where epsilon dominates), the mean of the value's magnitude, and a
   * scale that keeps (|x| + |mean|) / sqrt(epsilon) * scale within the magnitude budget.
   */
  private batchNorm(src: Val, step: GraphStep): Built {
    const channels = src.shape[src.shape.length - 1];
    const epsilon = BATCH_NORM_EPSILONS[step.batchNorm.epsilon % BATCH_NORM_EPSILONS.length];
    const mean = this.operand(step, 'mean', [channels], Math.log10(src.maxAbs) + 1);
    const variance = this.c.operandData(`variance${++this.weightCount}`, [channels], this.variances(step, channels), step.weightsAsInput ? 'input' : 'constant');
    const normalized = (src.maxAbs + mean.maxAbs) / Math.sqrt(epsilon);
    const scale = this.operand(step, 'scale', [channels], weightLog10(normalized, 1));
    const offset = this.operand(step, 'offset', [channels], Math.log10(normalized * scale.maxAbs) + 1);
    const sym = this.c.b.batchNorm(src.sym, mean.sym, variance, offset.sym, scale.sym, { epsilon });
    return { sym, maxAbs: normalized * scale.maxAbs + offset.maxAbs };
  }

  /** Positive variances from the step's data (below 1e3), `tinyVariances` of them tiny. */
  private variances(step: GraphStep, channels: number): Float32Array {
    const spec = capSpec({ ...step.data, seed: step.data.seed + this.weightCount }, 2);
    const next = prng(spec.seed ^ 0x2545f491);
    const tiny = NEAR_ZERO_VARIANCES.filter((v) => v > 0);
    return fillData(channels, spec).map((v) => (v !== 0 && next() >= step.batchNorm.tinyVariances ? Math.abs(v) : tiny[Math.floor(next() * tiny.length)]));
  }

  /** A conv / matmul of magnitude `maxAbs`, or its fused form with a bias of `channels` (made here). */
  private product(step: GraphStep, fused: boolean, maxAbs: number, channels: number, make: { plain: () => SymbolicValue; withBias: (bias: SymbolicValue) => SymbolicValue }): Built {
    if (!fused) return { sym: make.plain(), maxAbs };
    const bias = this.operand(step, 'bias', [channels], Math.log10(maxAbs) + 1);
    return { sym: make.withBias(bias.sym), maxAbs: maxAbs + bias.maxAbs };
  }

  private matmul(src: Val, step: GraphStep, fused: boolean): Built | undefined {
    const choice = step.matmul;
    const { transposeA, transposeB } = choice;
    const rank = src.shape.length;
    const [rows, cols] = src.shape.slice(-2);
    const [m, k] = transposeA ? [cols, rows] : [rows, cols];
    const batch = rank === 3 ? src.shape[0] : 1;
    const outShape = (n: number): Shape => (rank === 3 ? [batch, m, n] : [m, n]);
    // A matmul of two computed values (possibly the same one twice): a rank-2 value whose shape lines up.
    const partner =
      rank === 2 && choice.partner
        ? this.pool.find((v) => {
            if (v.shape.length !== 2 || (transposeB ? v.shape[1] : v.shape[0]) !== k) return false;
            const n = transposeB ? v.shape[0] : v.shape[1];
            return this.fits(outShape(n), m * n * k) && Math.log10(v.maxAbs * src.maxAbs * k) < MAX_LOG10;
          })
        : undefined;
    let n = partner ? (transposeB ? partner.shape[0] : partner.shape[1]) : choice.columns;
    if (!partner) while (n > 1 && !this.fits(outShape(n), batch * m * n * k)) n--;
    if (!this.fits(outShape(n), batch * m * n * k)) return undefined;
    let b: Built;
    if (partner) {
      partner.consumers++;
      b = { sym: partner.sym, maxAbs: partner.maxAbs };
    } else {
      const bMat = transposeB ? [n, k] : [k, n];
      b = this.operand(step, 'weights', rank === 3 && choice.batchedWeights ? [batch, ...bMat] : bMat, weightLog10(src.maxAbs, k));
    }
    const attrs = { transposeA, transposeB };
    this.macs += batch * m * n * k;
    return this.product(step, fused, src.maxAbs * b.maxAbs * k, n, {
      plain: () => this.c.b.matmul(src.sym, b.sym, attrs),
      withBias: (bias) => this.c.b.fusedMatmul(src.sym, b.sym, bias, { ...attrs, activation: choice.activation }),
    });
  }
}

/** TensorFlow's default 1e-3, Keras ResNet50's 1.001e-5, ONNX's 1e-5. */
const BATCH_NORM_EPSILONS = [1e-3, 1.001e-5, 1e-5];

/** Weight scale budget for a dot product of `k` terms with operand magnitude `maxAbs`. */
/** The perm of a transpose step: NHWC <-> NCHW for rank 4, axes sorted by the drawn keys, or undefined (TF's default). */
function transposeFor(shape: Shape, choice: TransposeChoice): number[] | undefined {
  const rank = shape.length;
  const fixed = rank === 4 ? [[0, 3, 1, 2], [0, 2, 3, 1]] : [];
  const form = choice.form < 2 && fixed.length === 0 ? 2 : choice.form;
  if (form < 2) return fixed[form];
  if (form === 3) return undefined;
  return permFromKeys(choice.keys, rank);
}

function weightLog10(maxAbs: number, k: number): number {
  return Math.min(3, MAX_LOG10 - Math.log10(maxAbs * k + 1));
}
