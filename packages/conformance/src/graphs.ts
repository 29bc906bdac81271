import { numel, type Padding, type Shape, type SymbolicValue } from '@tessera/core';
import type fc from 'fast-check';
import { CaseBuilder, divisors, type ConformanceCase } from './case.js';
import { capSpec, dataMaxAbs } from './data.js';
import { graphRecipeArbitrary, type ConvChoice, type GraphRecipe, type GraphStep, type ReshapeChoice, type SliceAxisChoice } from './graph-recipe.js';

export { graphRecipeArbitrary, type GraphRecipe, type GraphStep } from './graph-recipe.js';

/**
 * Random valid graphs. fast-check draws a *recipe* (an input shape and a list of steps, each with
 * named choices for every op it might become: graph-recipe.ts); `buildGraphCase` interprets it,
 * choosing each step's op among those that apply to the shape at hand and clamping each choice
 * to what that shape allows. Any recipe yields a valid graph, and shrinking a recipe (fewer
 * steps, simpler choices) yields a simpler valid graph.
 */
export interface GraphArbitraryOptions {
  /** Fewest ops (nodes). Default 1. */
  readonly minOps?: number;
  /** Most ops (nodes). Default 12. */
  readonly maxOps?: number;
  /** Budget of multiply-accumulates for the whole graph. Default 200_000. */
  readonly maxMacs?: number;
}

/** Largest element count of any value. */
const MAX_ELEMENTS = 4096;
/** Largest magnitude any value may reach (a conservative estimate), far below float32's 3.4e38. */
const MAX_LOG10 = 30;

/**
 * Random valid graphs of `minOps`..`maxOps` ops over one NHWC input: chains and small DAGs of
 * conv2d, bias_add, relu, relu6, maxpool, reshape, slice, matmul, the fused ops, add / mul
 * (residual connections of two computed values, broadcast weights), pad and concat (of computed
 * values, of a value with itself, with weights), with values consumed twice, several outputs,
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
  /** The result of an unfused conv2d / matmul: what a fusion pass looks for under a bias_add. */
  readonly linear: boolean;
}

/** A step's result: its value and a conservative upper bound of |element|. */
interface Built {
  readonly sym: SymbolicValue;
  readonly maxAbs: number;
}

type StepOp =
  | 'relu' | 'bias_add' | 'conv2d' | 'fused_conv2d' | 'maxpool' | 'reshape' | 'slice' | 'matmul' | 'fused_matmul'
  | 'add' | 'mul' | 'relu6' | 'pad' | 'concat';
// Repeated entries weight the choice; relu first, so a shrunk choice is the simplest op.
const RANK4_OPS: readonly StepOp[] = [
  'relu', 'conv2d', 'bias_add', 'fused_conv2d', 'maxpool', 'conv2d', 'reshape', 'fused_conv2d', 'maxpool', 'slice', 'conv2d', 'reshape',
  'add', 'mul', 'relu6', 'pad', 'concat', 'add',
];
const RANK23_OPS: readonly StepOp[] = ['relu', 'matmul', 'bias_add', 'fused_matmul', 'reshape', 'matmul', 'slice', 'fused_matmul', 'add', 'mul', 'relu6', 'pad', 'concat'];

/** Interprets a recipe as a graph and feeds (deterministic; see `graphArbitrary`). */
export function buildGraphCase(recipe: GraphRecipe, { maxMacs = 200_000 }: GraphArbitraryOptions = {}): ConformanceCase {
  const g = new GraphInterpreter(maxMacs);
  g.add(g.c.input('x', recipe.input, recipe.inputData), dataMaxAbs(recipe.inputData));
  recipe.steps.forEach((step, s) => {
    const src = g.pool[Math.max(0, g.pool.length - 1 - step.from)];
    const rank = src.shape.length;
    // After an unfused conv2d / matmul, usually a bias_add (the conv -> bias -> relu chains users write and passes fuse).
    const op = src.linear && step.biasAfterLinear ? 'bias_add' : rank === 4 ? RANK4_OPS[step.op % RANK4_OPS.length] : RANK23_OPS[step.op % RANK23_OPS.length];
    const built = g.apply(op, src, step);
    const linear = built !== undefined && (op === 'conv2d' || op === 'matmul');
    const out = built ?? { sym: g.c.b.relu(src.sym), maxAbs: src.maxAbs };
    src.consumers++;
    g.add(out.sym, out.maxAbs, step.alsoOutput && s < recipe.steps.length - 1, linear);
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

  add(sym: SymbolicValue, maxAbs: number, alsoOutput = false, linear = false): void {
    this.pool.push({ sym, shape: sym.shape, maxAbs, consumers: 0, alsoOutput, linear });
  }

  /** The op's nodes for this step, or undefined for relu or when nothing fits (relu is then used). */
  apply(op: StepOp, src: Val, step: GraphStep): Built | undefined {
    switch (op) {
      case 'relu':
        return undefined;
      case 'bias_add':
        return this.biasAdd(src, step);
      case 'conv2d':
      case 'fused_conv2d':
        return this.conv(src, step, op === 'fused_conv2d');
      case 'maxpool':
        return this.maxpool(src, step);
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
    const partner = choice.partner
      ? this.pool.find((v) => v !== src && v.shape.length === src.shape.length && v.shape.every((d, i) => d === src.shape[i]) && fitsMagnitude(v.maxAbs))
      : undefined;
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

  private conv(src: Val, step: GraphStep, fused: boolean): Built | undefined {
    const cin = src.shape[3];
    const geometry = convGeometry(src.shape, step.conv, (shape, macs) => this.fits(shape, macs));
    if (!geometry) return undefined;
    const { kh, kw, cout, attrs, macs } = geometry;
    const k = kh * kw * cin;
    const filter = this.operand(step, 'filter', [kh, kw, cin, cout], weightLog10(src.maxAbs, k));
    this.macs += macs;
    return this.product(step, fused, src.maxAbs * filter.maxAbs * k, cout, {
      plain: () => this.c.b.conv2d(src.sym, filter.sym, attrs),
      withBias: (bias) => this.c.b.fusedConv2d(src.sym, filter.sym, bias, { ...attrs, activation: step.conv.relu ? 'relu' : 'none' }),
    });
  }

  /** A conv / matmul of magnitude `maxAbs`, or its fused form with a bias of `channels` (made here). */
  private product(step: GraphStep, fused: boolean, maxAbs: number, channels: number, make: { plain: () => SymbolicValue; withBias: (bias: SymbolicValue) => SymbolicValue }): Built {
    if (!fused) return { sym: make.plain(), maxAbs };
    const bias = this.operand(step, 'bias', [channels], Math.log10(maxAbs) + 1);
    return { sym: make.withBias(bias.sym), maxAbs: maxAbs + bias.maxAbs };
  }

  private maxpool(src: Val, step: GraphStep): Built {
    const [, h, w] = src.shape;
    const { window, strides, padding } = step.pool;
    const kh = padding === 'VALID' ? Math.min(window[0], h) : window[0];
    const kw = padding === 'VALID' ? Math.min(window[1], w) : window[1];
    return { sym: this.c.b.maxpool(src.sym, { ksize: [kh, kw], strides: [strides[0], strides[1]], padding }), maxAbs: src.maxAbs };
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
      withBias: (bias) => this.c.b.fusedMatmul(src.sym, b.sym, bias, { ...attrs, activation: choice.relu ? 'relu' : 'none' }),
    });
  }
}

/** Weight scale budget for a dot product of `k` terms with operand magnitude `maxAbs`. */
function weightLog10(maxAbs: number, k: number): number {
  return Math.min(3, MAX_LOG10 - Math.log10(maxAbs * k + 1));
}

interface ConvGeometryChoice {
  readonly kh: number;
  readonly kw: number;
  readonly cout: number;
  readonly attrs: { strides: [number, number]; dilations: [number, number]; padding: Padding };
  readonly macs: number;
}

/** The conv's kernel, channels and attributes for an NHWC input, within the budget; undefined if even 1x1x1 does not fit. */
function convGeometry(input: Shape, choice: ConvChoice, fits: (shape: Shape, macs: number) => boolean): ConvGeometryChoice | undefined {
  const [n, h, w, cin] = input;
  let cout = choice.channels;
  const dil = choice.dilated ? 2 : 1;
  const strides: [number, number] = dil > 1 ? [1, 1] : [choice.strides[0], choice.strides[1]];
  const same = choice.padding === 'SAME';
  const pads = choice.padding === 'explicit' ? choice.pads : ([0, 0, 0, 0] as const);
  const padding: Padding = choice.padding === 'explicit' ? [[pads[0], pads[1]], [pads[2], pads[3]]] : choice.padding;
  // Largest kernel whose dilated window fits the (padded) input; SAME fits any.
  const room = (size: number, before: number, after: number) => (same ? Infinity : Math.floor((size + before + after - 1) / dil) + 1);
  let kh = Math.min(choice.kernel[0], room(h, pads[0], pads[1]));
  let kw = Math.min(choice.kernel[1], room(w, pads[2], pads[3]));
  const outHW = (size: number, k: number, stride: number, before: number, after: number) =>
    same ? Math.ceil(size / stride) : Math.floor((size + before + after - ((k - 1) * dil + 1)) / stride) + 1;
  const shapeOf = (): Shape => [n, outHW(h, kh, strides[0], pads[0], pads[1]), outHW(w, kw, strides[1], pads[2], pads[3]), cout];
  const macsOf = () => numel(shapeOf()) * kh * kw * cin;
  while (cout > 1 && !fits(shapeOf(), macsOf())) cout--;
  if (!fits(shapeOf(), macsOf())) kh = kw = 1;
  if (!fits(shapeOf(), macsOf())) return undefined;
  return { kh, kw, cout, attrs: { strides, dilations: [dil, dil], padding }, macs: macsOf() };
}

/** A strided slice of `shape`: each axis's start, stride and size as its choice says, clamped to the axis. */
function sliceFor(shape: Shape, axes: readonly SliceAxisChoice[]): { begin: number[]; size: number[]; strides: number[] } {
  const begin: number[] = [];
  const size: number[] = [];
  const strides: number[] = [];
  shape.forEach((d, a) => {
    const { stride } = axes[a];
    const b0 = axes[a].begin % d;
    begin.push(b0);
    size.push(1 + (axes[a].size % (Math.floor((d - 1 - b0) / stride) + 1)));
    strides.push(stride);
  });
  return { begin, size, strides };
}

/** A reshape target for `shape`: the choice's form for that rank, perhaps with one dimension -1. */
function reshapeFor(shape: Shape, choice: ReshapeChoice): number[] {
  const infer = (dims: number[]) => {
    if (!choice.wildcard) return dims;
    const at = choice.wildcardAt % dims.length;
    return dims.map((d, i) => (i === at ? -1 : d));
  };
  if (shape.length === 4) {
    const [n, h, w, c] = shape;
    switch (choice.form % 4) {
      case 0:
        return infer([n, h * w * c]); // flatten for a matmul tail
      case 1:
        return infer([n * h * w, c]); // pixels as rows: what a 1x1 conv is as a GEMM
      case 2:
        return infer([n, h * w, c]);
      default:
        return infer([n, w, h, c]); // same data, other spatial factorization
    }
  }
  if (shape.length === 2) {
    const [m, k] = shape;
    if (choice.form % 2 === 0) return infer([m, 1, 1, k]); // back to NHWC: rows as a batch of 1x1 images
    const ds = divisors(m);
    const d = ds[choice.divisor % ds.length];
    return infer([d, m / d, k]);
  }
  const [b, m, k] = shape;
  return infer(choice.form % 2 === 0 ? [b * m, k] : [b, m * k]);
}
