import { convGeometry, numel, type Activation, type Padding } from '@tessera/core';
import fc from 'fast-check';
import { CaseBuilder, type ConformanceCase, type Holder } from './case.js';
import { avgPoolCase, batchNormCase, depthwiseConv2dCase, fusedDepthwiseConv2dCase, meanCase, softmaxCase } from './arbitraries-cnn.js';
import { concatCase, padCase, reshapeCase, sliceCase, transposeCase } from './arbitraries-layout.js';
export { reshapeTarget } from './arbitraries-layout.js';
import { dataSpecArbitrary, fillData } from './data.js';
import { fitBudget, sizeArb } from './sizes.js';

export type { ConformanceCase } from './case.js';
export { GRAPH_OPS, GRAPH_OPS_EXCLUDED, buildGraphCase, graphArbitrary, graphRecipeArbitrary, type GraphArbitraryOptions, type GraphRecipe, type GraphStep } from './graphs.js';

/** The ops `opCaseArbitrary` has cases for, in the order the runner checks them. */
export const OP_NAMES_UNDER_TEST = [
  'conv2d',
  'fused_conv2d',
  'bias_add',
  'relu',
  'maxpool',
  'reshape',
  'matmul',
  'fused_matmul',
  'slice',
  'add',
  'mul',
  'relu6',
  'pad',
  'concat',
  'transpose',
  'avg_pool',
  'mean',
  'softmax',
  'batch_norm',
  'depthwise_conv2d',
  'fused_depthwise_conv2d',
] as const;
export type OpUnderTest = (typeof OP_NAMES_UNDER_TEST)[number];

/** Largest decimal exponent of single-op data: 10^15 * 10^15 * K stays far below float32's 3.4e38. */
const OP_MAX_EXP = 14;

/** Filters, weights and biases are usually graph constants, sometimes graph inputs. */
export const holderArb: fc.Arbitrary<Holder> = fc.constantFrom<Holder>('constant', 'constant', 'constant', 'input');

export const dim = (max: number) => fc.integer({ min: 1, max });

/**
 * Multiply-accumulates one op case may cost: a case crosses one blocking threshold at a time
 * (its `focus` dimension keeps its size; the others shrink to fit), which keeps the float64
 * reference of a 2,048-deep or 2,048-wide case in tens of milliseconds.
 */
export const CASE_MACS = 1 << 20;
/** Largest GEMM depth and width drawn (K, N): past 4 k-blocks of 256 and 2 column blocks of 512+. */
const MAX_KN = 2048;
/** Largest GEMM height drawn (M): past 2 row blocks of 64 and one of 128. */
const MAX_M = 300;
/** Which dimension of a case may be large. */
const focusArb = fc.constantFrom('m', 'k', 'n');
export const opData = (intsWeight = 1) => dataSpecArbitrary({ maxExp: OP_MAX_EXP, intsWeight });

// ---------------------------------------------------------------------------------------------
// conv2d / fused_conv2d

const paddingKindArb = fc.constantFrom('SAME', 'VALID', 'EXPLICIT');
/** The activations of the fused ops' epilogue. */
export const activationArb = fc.constantFrom<Activation>('none', 'relu', 'relu6');

export const convParamsArb = fc.record({
  batch: dim(3),
  h: dim(12),
  w: dim(12),
  cin: sizeArb(300),
  cout: sizeArb(600),
  focus: focusArb,
  kh: dim(5),
  kw: dim(5),
  sh: dim(4),
  sw: dim(4),
  dh: dim(3),
  dw: dim(3),
  padding: paddingKindArb,
  pads: fc.tuple(fc.nat(3), fc.nat(3), fc.nat(3), fc.nat(3)),
  x: opData(),
  w_: opData(),
  bias: opData(),
  filterHolder: holderArb,
  biasHolder: holderArb,
  activation: activationArb,
  /** fused_conv2d only: an output-shaped residual operand (a ResNet shortcut), or none. */
  withResidual: fc.boolean(),
  residual: opData(),
  residualHolder: holderArb,
});
export type ConvParams = typeof convParamsArb extends fc.Arbitrary<infer T> ? T : never;

/**
 * Turns free parameters into a valid conv geometry: strides and dilations not both above 1
 * (dilated cases get stride 1), the dilated window fits in 12, and a VALID or explicitly padded
 * input is at least as large as the window.
 */
export function repairConv<P extends ConvParams>(p: P) {
  let { sh, sw, dh, dw, kh, kw, h, w } = p;
  if (dh > 1 || dw > 1) {
    sh = 1;
    sw = 1;
  }
  kh = Math.min(kh, Math.floor(11 / dh) + 1);
  kw = Math.min(kw, Math.floor(11 / dw) + 1);
  const padding: Padding =
    p.padding === 'SAME' ? 'SAME' : p.padding === 'VALID' ? 'VALID' : [[p.pads[0], p.pads[1]], [p.pads[2], p.pads[3]]];
  const [pt, pb, pl, pr] = padding === 'VALID' ? [0, 0, 0, 0] : padding === 'SAME' ? [Infinity, 0, Infinity, 0] : p.pads;
  h = Math.max(h, (kh - 1) * dh + 1 - pt - pb);
  w = Math.max(w, (kw - 1) * dw + 1 - pl - pr);
  return { ...p, sh, sw, dh, dw, kh, kw, h, w, paddingAttr: padding };
}

/**
 * Fits a conv case under `CASE_MACS`: deep (cin, so K = kh*kw*cin crosses k-blocks), wide
 * (cout crosses column blocks) or spatially large (m, many im2col rows), the rest shrunk.
 */
function fitConv(raw: ConvParams): ConvParams {
  const keep = raw.focus === 'k' ? 'cin' : raw.focus === 'n' ? 'cout' : 'h';
  const fit = fitBudget({ batch: raw.batch, h: raw.h, w: raw.w, cin: raw.cin, cout: raw.cout }, keep, Math.max(1, Math.floor(CASE_MACS / (raw.kh * raw.kw))));
  return { ...raw, ...fit };
}

function convCase(op: 'conv2d' | 'fused_conv2d') {
  return convParamsArb.map((raw) => {
    const p = repairConv(fitConv(raw));
    const c = new CaseBuilder(`${op}_case`);
    const x = c.input('x', [p.batch, p.h, p.w, p.cin], p.x);
    const f = c.operand('filter', [p.kh, p.kw, p.cin, p.cout], p.w_, p.filterHolder);
    const attrs = { strides: [p.sh, p.sw] as [number, number], dilations: [p.dh, p.dw] as [number, number], padding: p.paddingAttr };
    if (op === 'conv2d') return c.build({ y: c.b.conv2d(x, f, attrs) });
    const bias = c.operand('bias', [p.cout], p.bias, p.biasHolder);
    const g = convGeometry(x.shape, f.shape, { ...attrs, dilations: [p.dh, p.dw] });
    const residual = p.withResidual ? c.operand('residual', [g.batch, g.outH, g.outW, g.outC], p.residual, p.residualHolder) : undefined;
    return c.build({ y: c.b.fusedConv2d(x, f, bias, { ...attrs, activation: p.activation }, residual) });
  });
}

// ---------------------------------------------------------------------------------------------
// elementwise: bias_add, relu (relu6 below)

export const anyShapeArb = (maxDim: number) => fc.array(dim(maxDim), { minLength: 1, maxLength: 4 });

/** Element-wise shapes: small dims, and a last (channel) dim from the size classes; at most CASE_MACS / 8 elements. */
const elementwiseShapeArb = fc
  .tuple(anyShapeArb(12), sizeArb(1100))
  .map(([dims, last]) => {
    const shape = [...dims.slice(0, -1), last];
    const fit = fitBudget(Object.fromEntries(shape.map((d, i) => [String(i), d])), String(shape.length - 1), CASE_MACS / 8);
    return shape.map((_, i) => fit[String(i)]);
  });

function biasAddCase() {
  return fc
    .record({ shape: elementwiseShapeArb, x: opData(), bias: opData(), biasHolder: holderArb })
    .map((p) => {
      const c = new CaseBuilder('bias_add_case');
      const x = c.input('x', p.shape, p.x);
      const bias = c.operand('bias', [p.shape[p.shape.length - 1]], p.bias, p.biasHolder);
      return c.build({ y: c.b.biasAdd(x, bias) });
    });
}

/** Half the cases start with -0: relu(-0) is +0 (docs/SEMANTICS.md "The sign of zero"), a bug data alone rarely shows. */
function reluCase() {
  return fc.record({ shape: elementwiseShapeArb, x: opData(2), negativeZero: fc.boolean() }).map((p) => {
    const c = new CaseBuilder('relu_case');
    const x = fillData(numel(p.shape), p.x);
    if (p.negativeZero) x[0] = -0;
    return c.build({ y: c.b.relu(c.operandData('x', p.shape, x, 'input')) });
  });
}

// ---------------------------------------------------------------------------------------------
// maxpool

function maxpoolCase() {
  return fc
    .record({
      batch: dim(3),
      h: dim(12),
      w: dim(12),
      c: dim(12),
      kh: dim(4),
      kw: dim(4),
      sh: dim(4),
      sw: dim(4),
      padding: fc.constantFrom<'SAME' | 'VALID'>('SAME', 'VALID'),
      // Ties are the interesting part of a max: small integers half of the time.
      x: opData(3),
    })
    .map((p) => {
      const h = p.padding === 'VALID' ? Math.max(p.h, p.kh) : p.h;
      const w = p.padding === 'VALID' ? Math.max(p.w, p.kw) : p.w;
      const c = new CaseBuilder('maxpool_case');
      const x = c.input('x', [p.batch, h, w, p.c], p.x);
      return c.build({ y: c.b.maxpool(x, { ksize: [p.kh, p.kw], strides: [p.sh, p.sw], padding: p.padding }) });
    });
}

// ---------------------------------------------------------------------------------------------
// matmul / fused_matmul

function matmulCase(op: 'matmul' | 'fused_matmul') {
  return fc
    .record({
      kind: fc.constantFrom('rank2', 'rank3', 'rank3-shared-b'),
      batch: dim(3),
      m: sizeArb(MAX_M),
      k: sizeArb(MAX_KN),
      n: sizeArb(MAX_KN),
      focus: focusArb,
      transposeA: fc.boolean(),
      transposeB: fc.boolean(),
      // k and n whole multiples of 16 (1 in 3): what blocked algorithms need (Strassen's halves of whole SIMD vectors).
      aligned: fc.constantFrom(false, false, true),
      a: opData(),
      b: opData(),
      bias: opData(),
      bHolder: holderArb,
      biasHolder: holderArb,
      activation: activationArb,
    })
    .map((raw) => {
      const fit = fitBudget({ batch: raw.batch, m: raw.m, k: raw.k, n: raw.n }, raw.focus, CASE_MACS);
      const align = (d: number) => (raw.aligned ? Math.ceil(d / 16) * 16 : d);
      const p = { ...raw, ...fit, k: align(fit.k), n: align(fit.n) };
      const c = new CaseBuilder(`${op}_case`);
      const aMat = p.transposeA ? [p.k, p.m] : [p.m, p.k];
      const bMat = p.transposeB ? [p.n, p.k] : [p.k, p.n];
      const aShape = p.kind === 'rank2' ? aMat : [p.batch, ...aMat];
      const bShape = p.kind === 'rank3' ? [p.batch, ...bMat] : bMat;
      const a = c.input('a', aShape, p.a);
      const b = c.operand('b', bShape, p.b, p.bHolder);
      const attrs = { transposeA: p.transposeA, transposeB: p.transposeB };
      if (op === 'matmul') return c.build({ y: c.b.matmul(a, b, attrs) });
      const bias = c.operand('bias', [p.n], p.bias, p.biasHolder);
      return c.build({ y: c.b.fusedMatmul(a, b, bias, { ...attrs, activation: p.activation }) });
    });
}

// ---------------------------------------------------------------------------------------------
// add / mul: NumPy broadcasting

/**
 * An output shape (rank 0..4) and two operand shapes that broadcast to it: each a suffix of the
 * output's dimensions (a lower rank) with some of them 1. Half of the pairs are equal shapes (a
 * residual add); others a channel vector, a scalar, a column against a row, operand 0 the smaller.
 */
const broadcastPairArb = fc
  .record({
    out: fc.array(dim(6), { minLength: 0, maxLength: 4 }),
    forms: fc.tuple(fc.nat(5), fc.nat(5)),
    ones: fc.tuple(fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 })),
    drops: fc.tuple(fc.nat(4), fc.nat(4)),
  })
  .map(({ out, forms, ones, drops }) => {
    const operand = (form: number, one: readonly boolean[], drop: number): number[] => {
      switch (form) {
        case 0:
        case 1:
          return [...out]; // the same shape
        case 2:
          return out.length ? [out[out.length - 1]] : []; // a channel vector (bias-like, a scale)
        case 3:
          return []; // a scalar
        default:
          // A suffix of the output's dimensions, some of them 1.
          return out.slice(Math.min(drop, out.length)).map((d, i) => (one[i] ? 1 : d));
      }
    };
    let a = operand(forms[0], ones[0], drops[0]);
    const b = operand(forms[1], ones[1], drops[1]);
    // The output is the broadcast of the two: make sure some operand carries every dimension.
    const full = out.map((d, i) => {
      const ai = a.length - out.length + i;
      const bi = b.length - out.length + i;
      return (ai >= 0 && a[ai] === d) || (bi >= 0 && b[bi] === d);
    });
    if (!full.every(Boolean)) a = [...out];
    return { a, b };
  });

function binaryCase(op: 'add' | 'mul') {
  return fc
    .record({ shapes: broadcastPairArb, a: opData(2), b: opData(2), bHolder: holderArb, same: fc.constantFrom(false, false, false, false, false, true) })
    .map((p) => {
      const c = new CaseBuilder(`${op}_case`);
      const a = c.input('a', p.shapes.a, p.a);
      // Sometimes the same value twice (x + x, x * x): both operands in one buffer.
      const b = p.same ? a : c.operand('b', p.shapes.b, p.b, p.bHolder);
      return c.build({ y: op === 'add' ? c.b.add(a, b) : c.b.mul(a, b) });
    });
}

// ---------------------------------------------------------------------------------------------
// relu6

function relu6Case() {
  // Scaled by 2 or 3, the ints (-3..3) reach past 6 with exact ties at 6.
  return fc.record({ shape: anyShapeArb(12), x: opData(2), scale: fc.constantFrom(1, 2, 3) }).map((p) => {
    const c = new CaseBuilder('relu6_case');
    const x = c.input('x', p.shape, p.x);
    if (p.scale !== 1) c.feeds.x = c.feeds.x.map((v) => v * p.scale);
    return c.build({ y: c.b.relu6(x) });
  });
}

// ---------------------------------------------------------------------------------------------

const OP_CASES: Record<OpUnderTest, () => fc.Arbitrary<ConformanceCase>> = {
  conv2d: () => convCase('conv2d'),
  fused_conv2d: () => convCase('fused_conv2d'),
  bias_add: biasAddCase,
  relu: reluCase,
  maxpool: maxpoolCase,
  reshape: reshapeCase,
  matmul: () => matmulCase('matmul'),
  fused_matmul: () => matmulCase('fused_matmul'),
  slice: sliceCase,
  add: () => binaryCase('add'),
  mul: () => binaryCase('mul'),
  relu6: relu6Case,
  pad: padCase,
  concat: concatCase,
  transpose: transposeCase,
  avg_pool: avgPoolCase,
  mean: meanCase,
  softmax: softmaxCase,
  batch_norm: batchNormCase,
  depthwise_conv2d: depthwiseConv2dCase,
  fused_depthwise_conv2d: fusedDepthwiseConv2dCase,
};

/**
 * Cases of one op: a one-node graph (operands as inputs; filters, weights and biases usually
 * constants, sometimes inputs) and its feeds. Sizes come from classes (sizes.ts): tiny, at and
 * one past the block edges (4 .. 512), and large (matmul K, N up to 2,048, M up to 300; conv
 * channels up to 600), one large dimension per case (CASE_MACS); data mixes zeros, negatives, exact ties and magnitudes from
 * 1e-20 to 1e15, with every product and sum finite in float32.
 */
export function opCaseArbitrary(op: string): fc.Arbitrary<ConformanceCase> {
  if (!Object.prototype.hasOwnProperty.call(OP_CASES, op)) {
    throw new Error(`no conformance cases for op '${op}' (ops under test: ${OP_NAMES_UNDER_TEST.join(', ')})`);
  }
  return OP_CASES[op as OpUnderTest]();
}
