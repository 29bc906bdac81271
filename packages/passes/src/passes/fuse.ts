import { attrsOf, conv2d as conv2dSpec, fusedConv2d, fusedMatmul, matmul as matmulSpec, type Node } from '@tessera/core';
import { any, op, type RewriteRule } from '../rewrite.js';
import { rulePass } from './rule-pass.js';

/*
 * Conv / matmul fusion as a table of rules. Every intermediate must have this chain as its only
 * consumer and not be a graph output (the rewrite engine's default). The fused node keeps the
 * conv's (matmul's) name. The fused ops' references apply the same epilogue as bias_add and relu,
 * so the rewrite is exact.
 */

const conv = op('conv2d', any('x'), any('w'));
const matmul = op('matmul', any('a'), any('b'));

/** The replacement: one fused node with the conv's (matmul's) attributes and name. */
const fuse =
  (into: 'fused_conv2d' | 'fused_matmul', relu: boolean): RewriteRule['replace'] =>
  (m, emit) => {
    const main = into === 'fused_conv2d' ? m.nodes.conv2d : m.nodes.matmul;
    const attrs = into === 'fused_conv2d' ? attrsOf(main, conv2dSpec) : attrsOf(main, matmulSpec);
    return emit.node(into, [...main.inputs, m.values.bias], { ...attrs, relu }, main.name);
  };

/** The attributes of a fused_conv2d / fused_matmul node. */
const fusedAttrs = (n: Node) => (n.op === 'fused_conv2d' ? attrsOf(n, fusedConv2d) : attrsOf(n, fusedMatmul));

export const fusionRules: readonly RewriteRule[] = [
  { name: 'conv2d+bias_add+relu', pattern: op('relu', op('bias_add', conv, any('bias'))), replace: fuse('fused_conv2d', true) },
  { name: 'conv2d+bias_add', pattern: op('bias_add', conv, any('bias')), replace: fuse('fused_conv2d', false) },
  { name: 'matmul+bias_add+relu', pattern: op('relu', op('bias_add', matmul, any('bias'))), replace: fuse('fused_matmul', true) },
  { name: 'matmul+bias_add', pattern: op('bias_add', matmul, any('bias')), replace: fuse('fused_matmul', false) },
  ...(['fused_conv2d', 'fused_matmul'] as const).map(
    (fused): RewriteRule => ({
      name: `${fused}+relu`,
      pattern: op('relu', op(fused, any('x'), any('w'), any('bias'))),
      condition: (m) => !fusedAttrs(m.nodes[fused]).relu,
      replace: (m, emit) => {
        const f = m.nodes[fused];
        return emit.node(fused, f.inputs, { ...fusedAttrs(f), relu: true }, f.name);
      },
    }),
  ),
];

export const convFusion = rulePass('fuse', 'fuses conv2d / matmul -> bias_add (-> relu) into fused_conv2d / fused_matmul', fusionRules);
