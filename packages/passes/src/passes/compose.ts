import { Tensor, type Graph, type Node } from '@tessera/core';
import { constant, any, named, op, type Emitter, type Match, type OpPattern, type RewriteRule } from '../rewrite.js';
import { convActivation, convAttrs, filterShape, is1x1, padsNothingFor1x1 } from './conv-util.js';
import { rulePass } from './rule-pass.js';

/*
 * Linear conv composition: a 1x1 conv B (stride 1, no padding) applied directly to the output of
 * a conv A (optionally with a bias, nothing nonlinear in between) is one conv with A's geometry:
 *   Wc[ky, kx, ci, co] = sum_m WA[ky, kx, ci, m] * WB[m, co],   bc[co] = sum_m bA[m] * WB[m, co] + bB[co].
 * It is exact because B does not pad: every output of B reads exactly one output of A, padded
 * border outputs of A included. The composed weights are computed in float64 and stored in float32;
 * that rounding (<= u |WA| |WB| per term) lies inside the float32 bound the reference gives the
 * original pair. Applied only where it does not increase MACs (kA * Cout <= kA * M + M * Cout).
 */

/** The first conv: conv2d, bias_add(conv2d), or fused_conv2d without activation (nor residual: 3 operands). */
const firsts: readonly { key: string; pattern: OpPattern }[] = [
  { key: 'conv2d', pattern: named('A', op('conv2d', any('x'), constant('wA'))) },
  { key: 'conv2d+bias', pattern: named('Abias', op('bias_add', named('A', op('conv2d', any('x'), constant('wA'))), constant('bA'))) },
  { key: 'fused_conv2d', pattern: named('A', op('fused_conv2d', any('x'), constant('wA'), constant('bA'))) },
];

/**
 * The 1x1 conv: conv2d, fused_conv2d (any activation, which the composed conv keeps; not one with a
 * residual: the pattern has 3 operands), or conv2d followed by bias_add (absorbed too).
 */
const seconds: readonly { key: string; make: (a: OpPattern) => OpPattern }[] = [
  { key: 'conv2d', make: (a) => named('B', op('conv2d', a, constant('wB'))) },
  { key: 'fused_conv2d', make: (a) => named('B', op('fused_conv2d', a, constant('wB'), constant('bB'))) },
  { key: 'conv2d+bias', make: (a) => named('Bbias', op('bias_add', named('B', op('conv2d', a, constant('wB'))), constant('bB'))) },
];

function condition(m: Match, g: Graph): boolean | string {
  const A = m.nodes.A;
  const B = m.nodes.B;
  if (!is1x1(g, B)) return false;
  if (convActivation(A) !== 'none') return false; // an activation in between: not linear
  const b = convAttrs(B);
  if (b.strides[0] !== 1 || b.strides[1] !== 1) return `1x1 conv '${B.name}' has strides ${JSON.stringify(b.strides)}`;
  if (!padsNothingFor1x1(b.padding)) return `1x1 conv '${B.name}' pads explicitly`;
  const [kh, kw, cin, mid] = filterShape(g, A);
  const cout = B.output.shape[3];
  const k = kh * kw * cin;
  if (k * cout > k * mid + mid * cout) {
    return `composing '${A.name}' (${kh}x${kw}x${cin}x${mid}) with '${B.name}' (1x1x${mid}x${cout}) would raise MACs per pixel from ${k * mid + mid * cout} to ${k * cout}`;
  }
  return true;
}

function compose(m: Match, emit: Emitter): string {
  const A = m.nodes.A;
  const B = m.nodes.B;
  const wA = emit.tensor(m.values.wA);
  const wB = emit.tensor(m.values.wB);
  const [kh, kw, cin, mid] = wA.shape;
  const cout = wB.shape[3];
  const rows = kh * kw * cin;
  const wc = new Float32Array(rows * cout);
  const acc = new Float64Array(cout);
  for (let r = 0; r < rows; r++) {
    acc.fill(0);
    for (let j = 0; j < mid; j++) {
      const a = wA.data[r * mid + j];
      if (a === 0) continue;
      for (let co = 0; co < cout; co++) acc[co] += a * wB.data[j * cout + co];
    }
    wc.set(acc, r * cout);
  }
  const hasBias = m.values.bA !== undefined || m.values.bB !== undefined;
  const filter = emit.constant(`${A.name}+${B.name}/filter`, new Tensor([kh, kw, cin, cout], wc));
  const { strides, padding, dilations } = convAttrs(A);
  const geometry = { strides, padding, dilations };
  if (!hasBias) return emit.node('conv2d', [m.values.x, filter], geometry, A.name);
  const bias = new Float64Array(cout);
  if (m.values.bA !== undefined) {
    const bA = emit.tensor(m.values.bA).data;
    for (let j = 0; j < mid; j++) for (let co = 0; co < cout; co++) bias[co] += bA[j] * wB.data[j * cout + co];
  }
  if (m.values.bB !== undefined) {
    const bB = emit.tensor(m.values.bB).data;
    for (let co = 0; co < cout; co++) bias[co] += bB[co];
  }
  const b = emit.constant(`${A.name}+${B.name}/bias`, new Tensor([cout], Float32Array.from(bias)));
  return emit.node('fused_conv2d', [m.values.x, filter, b], { ...geometry, activation: convActivation(B) }, A.name);
}

export const composeRules: readonly RewriteRule[] = seconds.flatMap((second) =>
  firsts.map(
    (first): RewriteRule => ({
      name: `compose ${first.key} -> 1x1 ${second.key}`,
      pattern: second.make(first.pattern),
      condition,
      replace: compose,
      describe: (m: Match, result: string) =>
        `composed ${names(m)} into one ${m.nodes.A.op === 'conv2d' && m.values.bA === undefined && m.values.bB === undefined ? 'conv2d' : 'fused_conv2d'} '${result}'`,
    }),
  ),
);

function names(m: Match): string {
  return [...m.matched].reverse().map((n: Node) => `'${n.name}'`).join(' -> ');
}

export const linearComposition = rulePass('compose', 'composes a 1x1 conv applied right after another conv (+ bias) into one conv', composeRules);
