import { numel, type Padding, type Shape, type SymbolicValue } from '@tessera/core';
import fc from 'fast-check';
import { CaseBuilder, divisors, type ConformanceCase } from './case.js';
import { capSpec, dataMaxAbs, dataSpecArbitrary, type DataSpec } from './data.js';

/**
 * Random valid graphs. fast-check draws a *recipe* (an input shape and a list of steps made of
 * plain numbers); `buildGraphCase` interprets it, choosing each step's op among those that
 * apply to the shape at hand and deriving every attribute from the step's numbers modulo what
 * that shape allows. Any recipe yields a valid graph, and shrinking a recipe (fewer steps,
 * smaller numbers) yields a simpler valid graph: number 0 always means the simplest choice
 * (relu, kernel 1, stride 1, SAME).
 */
export interface GraphArbitraryOptions {
  /** Fewest ops (nodes). Default 1. */
  readonly minOps?: number;
  /** Most ops (nodes). Default 12. */
  readonly maxOps?: number;
  /** Budget of multiply-accumulates for the whole graph. Default 200_000. */
  readonly maxMacs?: number;
}

export interface GraphStep {
  /** Which op, among those that apply to the operand's rank (modulo their count). */
  readonly op: number;
  /** 0: the latest value; k > 0: the value k places before it (a second consumer). */
  readonly from: number;
  /** Attribute choices. */
  readonly r: readonly number[];
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

/** Largest element count of any value. */
const MAX_ELEMENTS = 4096;
/** Largest magnitude any value may reach (a conservative estimate), far below float32's 3.4e38. */
const MAX_LOG10 = 30;

const stepArb: fc.Arbitrary<GraphStep> = fc.record({
  op: fc.nat(60),
  from: fc.oneof({ arbitrary: fc.constant(0), weight: 3 }, { arbitrary: fc.integer({ min: 1, max: 4 }), weight: 1 }),
  r: fc.array(fc.nat(1000), { minLength: 12, maxLength: 12 }),
  data: dataSpecArbitrary({ maxExp: 2, minExp: -6 }),
  weightsAsInput: fc.constantFrom(false, false, false, true),
  alsoOutput: fc.constantFrom(false, false, false, false, true),
});

export function graphRecipeArbitrary({ minOps = 1, maxOps = 12 }: GraphArbitraryOptions = {}): fc.Arbitrary<GraphRecipe> {
  return fc.record({
    input: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1, max: 6 })),
    inputData: dataSpecArbitrary({ maxExp: 6, minExp: -8 }),
    steps: fc.array(stepArb, { minLength: minOps, maxLength: maxOps }),
  });
}

/**
 * Random valid graphs of `minOps`..`maxOps` ops over one NHWC input: chains and small DAGs of
 * conv2d, bias_add, relu, maxpool, reshape, slice, matmul and the fused ops, with values
 * consumed twice, several outputs, intermediates that are also outputs, flatten + matmul tails
 * and matmuls of two computed values. Total MACs stay under `maxMacs` (default 2e5).
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

type Rank4Op = 'relu' | 'bias_add' | 'conv2d' | 'fused_conv2d' | 'maxpool' | 'reshape' | 'slice';
type Rank23Op = 'relu' | 'bias_add' | 'matmul' | 'fused_matmul' | 'reshape' | 'slice';
// Repeated entries weight the choice; relu first, so a shrunk choice is the simplest op.
const RANK4_OPS: readonly Rank4Op[] = ['relu', 'conv2d', 'bias_add', 'fused_conv2d', 'maxpool', 'conv2d', 'reshape', 'fused_conv2d', 'maxpool', 'slice', 'conv2d', 'reshape'];
const RANK23_OPS: readonly Rank23Op[] = ['relu', 'matmul', 'bias_add', 'fused_matmul', 'reshape', 'matmul', 'slice', 'fused_matmul'];

/** Interprets a recipe as a graph and feeds (deterministic; see `graphArbitrary`). */
export function buildGraphCase(recipe: GraphRecipe, { maxMacs = 200_000 }: GraphArbitraryOptions = {}): ConformanceCase {
  const c = new CaseBuilder('random_graph');
  const pool: Val[] = [];
  const add = (sym: SymbolicValue, maxAbs: number, alsoOutput = false, linear = false): Val => {
    const v: Val = { sym, shape: sym.shape, maxAbs, consumers: 0, alsoOutput, linear };
    pool.push(v);
    return v;
  };
  const x = c.input('x', recipe.input, recipe.inputData);
  add(x, dataMaxAbs(recipe.inputData));
  let macs = 0;
  let weightCount = 0;

  recipe.steps.forEach((step, s) => {
    const src = pool[Math.max(0, pool.length - 1 - step.from)];
    const r = step.r;
    /** A weight or bias operand whose values stay below 10^(maxLog10 + 1)... or smaller, as the step's data says. */
    const operand = (prefix: string, shape: Shape, maxLog10: number): { sym: SymbolicValue; maxAbs: number } => {
      const spec = capSpec({ ...step.data, seed: step.data.seed + weightCount }, maxLog10 - 1);
      const sym = c.operand(`${prefix}${++weightCount}`, shape, spec, step.weightsAsInput ? 'input' : 'constant');
      return { sym, maxAbs: dataMaxAbs(spec) };
    };
    /** Weight scale budget for a dot product of `k` terms with operand magnitude `maxAbs`. */
    const weightLog10 = (maxAbs: number, k: number) => Math.min(3, MAX_LOG10 - Math.log10(maxAbs * k + 1));
    const fits = (shape: Shape, newMacs: number) => numel(shape) <= MAX_ELEMENTS && macs + newMacs <= maxMacs;

    let out: { sym: SymbolicValue; maxAbs: number } | undefined;
    const rank = src.shape.length;
    // After an unfused conv2d / matmul, usually a bias_add (the conv -> bias -> relu chains users write and passes fuse).
    const op = src.linear && r[11] % 3 !== 0 ? 'bias_add' : rank === 4 ? RANK4_OPS[step.op % RANK4_OPS.length] : RANK23_OPS[step.op % RANK23_OPS.length];

    switch (op) {
      case 'relu':
        break; // the fallback below
      case 'bias_add': {
        const bias = operand('bias', [src.shape[rank - 1]], Math.log10(src.maxAbs) + 1);
        out = { sym: c.b.biasAdd(src.sym, bias.sym), maxAbs: src.maxAbs + bias.maxAbs };
        break;
      }
      case 'conv2d':
      case 'fused_conv2d': {
        const [n, h, w, cin] = src.shape;
        let cout = 1 + (r[8] % 8);
        const dil = r[4] % 5 === 4 ? 2 : 1;
        const strides: [number, number] = dil > 1 ? [1, 1] : [1 + (r[2] % 3), 1 + (r[3] % 3)];
        const kind = r[6] % 3;
        const explicit = [r[7] % 3, Math.floor(r[7] / 3) % 3, Math.floor(r[7] / 9) % 3, Math.floor(r[7] / 27) % 3];
        const padding: Padding = kind === 0 ? 'SAME' : kind === 1 ? 'VALID' : [[explicit[0], explicit[1]], [explicit[2], explicit[3]]];
        const pads = kind === 2 ? explicit : [0, 0, 0, 0];
        // Largest kernel whose dilated window fits the (padded) input; SAME fits any.
        const room = (size: number, before: number, after: number) => (kind === 0 ? Infinity : Math.floor((size + before + after - 1) / dil) + 1);
        let kh = Math.min(1 + (r[0] % 5), room(h, pads[0], pads[1]));
        let kw = Math.min(1 + (r[1] % 5), room(w, pads[2], pads[3]));
        const outHW = (size: number, k: number, stride: number, before: number, after: number) =>
          kind === 0 ? Math.ceil(size / stride) : Math.floor((size + before + after - ((k - 1) * dil + 1)) / stride) + 1;
        const shapeOf = (): Shape => [n, outHW(h, kh, strides[0], pads[0], pads[1]), outHW(w, kw, strides[1], pads[2], pads[3]), cout];
        const macsOf = () => numel(shapeOf()) * kh * kw * cin;
        while (cout > 1 && !fits(shapeOf(), macsOf())) cout--;
        if (!fits(shapeOf(), macsOf())) kh = kw = 1;
        if (!fits(shapeOf(), macsOf())) break;
        const k = kh * kw * cin;
        const filter = operand('filter', [kh, kw, cin, cout], weightLog10(src.maxAbs, k));
        const attrs = { strides, dilations: [dil, dil] as [number, number], padding };
        let maxAbs = src.maxAbs * filter.maxAbs * k;
        let sym: SymbolicValue;
        if (op === 'conv2d') sym = c.b.conv2d(src.sym, filter.sym, attrs);
        else {
          const bias = operand('bias', [cout], Math.log10(maxAbs) + 1);
          maxAbs += bias.maxAbs;
          sym = c.b.fusedConv2d(src.sym, filter.sym, bias.sym, { ...attrs, relu: r[9] % 2 === 1 });
        }
        macs += macsOf();
        out = { sym, maxAbs };
        break;
      }
      case 'maxpool': {
        const [, h, w] = src.shape;
        const padding = r[4] % 2 === 0 ? 'SAME' : 'VALID';
        const kh = padding === 'VALID' ? Math.min(1 + (r[0] % 4), h) : 1 + (r[0] % 4);
        const kw = padding === 'VALID' ? Math.min(1 + (r[1] % 4), w) : 1 + (r[1] % 4);
        const sym = c.b.maxpool(src.sym, { ksize: [kh, kw], strides: [1 + (r[2] % 3), 1 + (r[3] % 3)], padding });
        out = { sym, maxAbs: src.maxAbs };
        break;
      }
      case 'reshape': {
        const target = reshapeFor(src.shape, r);
        out = { sym: c.b.reshape(src.sym, target), maxAbs: src.maxAbs };
        break;
      }
      case 'slice': {
        const begin: number[] = [];
        const size: number[] = [];
        const strides: number[] = [];
        src.shape.forEach((d, a) => {
          const stride = 1 + (r[a] % 2);
          const b0 = r[a + 4] % d;
          begin.push(b0);
          size.push(1 + (r[a + 8] % (Math.floor((d - 1 - b0) / stride) + 1)));
          strides.push(stride);
        });
        out = { sym: c.b.slice(src.sym, { begin, size, strides }), maxAbs: src.maxAbs };
        break;
      }
      case 'matmul':
      case 'fused_matmul': {
        const transposeA = r[2] % 4 === 3;
        const transposeB = r[1] % 2 === 1;
        const [rows, cols] = src.shape.slice(-2);
        const [m, k] = transposeA ? [cols, rows] : [rows, cols];
        const batch = rank === 3 ? src.shape[0] : 1;
        // A matmul of two computed values: another rank-2 value whose shape lines up.
        const outShape = (n: number): Shape => (rank === 3 ? [batch, m, n] : [m, n]);
        // A matmul of two computed values (possibly the same one twice): a rank-2 value whose shape lines up.
        const partner =
          rank === 2 && r[3] % 3 === 2
            ? pool.find((v) => {
                if (v.shape.length !== 2 || (transposeB ? v.shape[1] : v.shape[0]) !== k) return false;
                const n = transposeB ? v.shape[0] : v.shape[1];
                return fits(outShape(n), m * n * k) && Math.log10(v.maxAbs * src.maxAbs * k) < MAX_LOG10;
              })
            : undefined;
        let n = partner ? (transposeB ? partner.shape[0] : partner.shape[1]) : 1 + (r[0] % 16);
        if (!partner) while (n > 1 && !fits(outShape(n), batch * m * n * k)) n--;
        if (!fits(outShape(n), batch * m * n * k)) break;
        let b: { sym: SymbolicValue; maxAbs: number };
        if (partner) {
          partner.consumers++;
          b = { sym: partner.sym, maxAbs: partner.maxAbs };
        } else {
          const bMat = transposeB ? [n, k] : [k, n];
          b = operand('weights', rank === 3 && r[4] % 2 === 1 ? [batch, ...bMat] : bMat, weightLog10(src.maxAbs, k));
        }
        const attrs = { transposeA, transposeB };
        let maxAbs = src.maxAbs * b.maxAbs * k;
        let sym: SymbolicValue;
        if (op === 'matmul') sym = c.b.matmul(src.sym, b.sym, attrs);
        else {
          const bias = operand('bias', [n], Math.log10(maxAbs) + 1);
          maxAbs += bias.maxAbs;
          sym = c.b.fusedMatmul(src.sym, b.sym, bias.sym, { ...attrs, relu: r[5] % 2 === 1 });
        }
        macs += batch * m * n * k;
        out = { sym, maxAbs };
        break;
      }
    }
    const linear = out !== undefined && (op === 'conv2d' || op === 'matmul');
    out ??= { sym: c.b.relu(src.sym), maxAbs: src.maxAbs };
    src.consumers++;
    add(out.sym, out.maxAbs, step.alsoOutput && s < recipe.steps.length - 1, linear);
  });

  // Outputs: every computed value nobody consumes, and those marked to be outputs as well.
  const outputs: Record<string, SymbolicValue> = {};
  pool.slice(1).forEach((v) => {
    if (v.consumers === 0 || v.alsoOutput) outputs[`out${Object.keys(outputs).length}`] = v.sym;
  });
  return c.build(outputs);
}

/** A reshape target for `shape` chosen by r[0] (kind), r[1] (a -1 or not) and r[2] (a divisor). */
function reshapeFor(shape: Shape, r: readonly number[]): number[] {
  const infer = (dims: number[]) => {
    if (r[1] % 2 === 0) return dims;
    const at = r[1] % dims.length;
    return dims.map((d, i) => (i === at ? -1 : d));
  };
  if (shape.length === 4) {
    const [n, h, w, c] = shape;
    switch (r[0] % 4) {
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
    if (r[0] % 2 === 0) return infer([m, 1, 1, k]); // back to NHWC: rows as a batch of 1x1 images
    const ds = divisors(m);
    const d = ds[r[2] % ds.length];
    return infer([d, m / d, k]);
  }
  const [b, m, k] = shape;
  return infer(r[0] % 2 === 0 ? [b * m, k] : [b, m * k]);
}
