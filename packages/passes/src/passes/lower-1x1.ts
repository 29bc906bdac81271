import { Tensor } from '@tessera/core';
import { constant, op, any, type Emitter, type Match, type RewriteRule } from '../rewrite.js';
import { convActivation, convAttrs, is1x1, padsNothingFor1x1 } from './conv-util.js';
import { rulePass } from './rule-pass.js';

/*
 * A 1x1 conv with a constant filter is a GEMM: [N*H*W, Cin] x [Cin, Cout]. With strides > 1 the
 * input is first subsampled by a strided slice. Padding must add nothing (SAME and VALID never do
 * for k = 1; explicit padding must be zero); dilation does not matter for k = 1. Each output is the
 * same Cin products in the same order as the conv's, so the rewrite is exact. A fused_conv2d keeps
 * its activation; one with a residual (4 operands) has no fused_matmul form and is not matched.
 */

function condition(m: Match): true | string {
  const conv = m.root;
  const a = convAttrs(conv);
  if (!padsNothingFor1x1(a.padding)) return `explicit padding ${JSON.stringify(a.padding)} adds cells`;
  return true;
}

function lower(m: Match, emit: Emitter): string {
  const conv = m.root;
  const { strides } = convAttrs(conv);
  const x = m.values.x;
  const [n, , , cin] = emit.shape(x);
  const [, outH, outW, cout] = conv.output.shape;
  let rows = x;
  if (strides[0] > 1 || strides[1] > 1) {
    rows = emit.node('slice', [x], { begin: [0, 0, 0, 0], size: [n, outH, outW, cin], strides: [1, strides[0], strides[1], 1] }, `${conv.name}/subsample`);
  }
  rows = emit.node('reshape', [rows], { shape: [n * outH * outW, cin] }, `${conv.name}/to_rows`);
  // An HWIO filter of 1x1 is, row-major, exactly the [Cin, Cout] matrix: share its data.
  const filter = emit.tensor(m.values.w);
  const w = emit.constant(`${m.values.w}/matrix`, new Tensor([cin, cout], filter.data));
  const product =
    conv.op === 'fused_conv2d'
      ? emit.node('fused_matmul', [rows, w, m.values.bias], { activation: convActivation(conv) }, conv.name)
      : emit.node('matmul', [rows, w], {}, conv.name);
  return emit.node('reshape', [product], { shape: [n, outH, outW, cout] }, `${conv.name}/to_nhwc`);
}

export const lower1x1Rules: readonly RewriteRule[] = [
  {
    name: 'conv2d-1x1->matmul',
    pattern: op('conv2d', any('x'), constant('w')),
    condition: (m, g) => is1x1(g, m.root) && condition(m),
    replace: lower,
  },
  {
    name: 'fused_conv2d-1x1->fused_matmul',
    pattern: op('fused_conv2d', any('x'), constant('w'), any('bias')),
    condition: (m, g) => is1x1(g, m.root) && condition(m),
    replace: lower,
  },
];

export const lower1x1 = rulePass('lower-1x1', 'lowers 1x1 convs with constant filters to (strided slice ->) reshape -> matmul -> reshape', lower1x1Rules);
