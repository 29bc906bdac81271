import { Tensor, sameShape, type Activation, type Graph, type Node } from '@tessera/core';
import { any, named, op, type Match, type OpPattern, type RewriteRule } from '../rewrite.js';
import { PRODUCTS } from './conv-util.js';
import { rulePass } from './rule-pass.js';

/*
 * Conv / depthwise conv / matmul fusion as a table of rules, generated from three small lists
 * (the products, the activations, the residual forms). Every intermediate must have the chain as
 * its only consumer and not be a graph output (the rewrite engine's default). The fused node keeps
 * the product's name. The fused ops' references apply the same epilogue as bias_add, add, relu and
 * relu6 in the same order ((product + bias) + residual, then the activation), so the rewrite is exact.
 */

/** The element-wise activations a fused op absorbs, by the op that applies them. */
const ACTIVATIONS: readonly Exclude<Activation, 'none'>[] = ['relu', 'relu6'];

const FUSED_OPS = PRODUCTS.map((p) => p.fused);

/** The product node of a match. */
const main = (m: Match): Node => m.nodes.main;

/** `pattern` under an activation op (or as it is, for 'none'). */
const activated = (activation: Activation, pattern: OpPattern): OpPattern => (activation === 'none' ? pattern : op(activation, pattern));

/** The replacement: one fused node with the product's attributes, the activation and name. */
function fuseInto(into: string, activation: Activation, residual: boolean): RewriteRule['replace'] {
  return (m, emit) => {
    const p = main(m);
    const { activation: _previous, ...attrs } = p.attrs as Record<string, unknown>;
    const bias = m.values.bias ?? emit.constant(`${p.name}/zero_bias`, new Tensor([p.output.shape[p.output.shape.length - 1]]));
    const inputs = [p.inputs[0], p.inputs[1], bias, ...(residual ? [m.values.residual] : [])];
    return emit.node(into, inputs, { ...attrs, activation }, p.name);
  };
}

/** product -> bias_add (-> activation): one rule per product and activation. */
const biasRules: RewriteRule[] = PRODUCTS.flatMap((p) =>
  (['none', ...ACTIVATIONS] as const).map(
    (activation): RewriteRule => ({
      name: `${p.op}+bias_add${activation === 'none' ? '' : `+${activation}`}`,
      pattern: activated(activation, op('bias_add', named('main', op(p.op, any('x'), any('w'))), any('bias'))),
      replace: fuseInto(p.fused, activation, false),
    }),
  ),
);

/** A fused node without activation (any residual) followed by relu / relu6: the activation moves in. */
const activationRules: RewriteRule[] = FUSED_OPS.flatMap((fused) =>
  ACTIVATIONS.flatMap((activation) =>
    [3, 4].filter((n) => n === 3 || fused === 'fused_conv2d').map(
      (operands): RewriteRule => ({
        name: `${fused}+${activation}`,
        pattern: op(activation, named('main', op(fused, ...Array.from({ length: operands }, () => any())))),
        condition: (m) => (main(m).attrs as { activation: Activation }).activation === 'none',
        replace: (m, emit) => emit.node(fused, main(m).inputs, { ...main(m).attrs, activation }, main(m).name),
      }),
    ),
  ),
);

/** The conv side of a residual add: conv2d + bias_add, conv2d alone (a zero bias), or a fused_conv2d without activation. */
const RESIDUAL_SOURCES: readonly { key: string; pattern: OpPattern }[] = [
  { key: 'conv2d+bias_add', pattern: op('bias_add', named('main', op('conv2d', any('x'), any('w'))), any('bias')) },
  { key: 'conv2d', pattern: named('main', op('conv2d', any('x'), any('w'))) },
  { key: 'fused_conv2d', pattern: named('main', op('fused_conv2d', any('x'), any('w'), any('bias'))) },
];

/**
 * The residual must be added element by element (the same shape as the conv's output, no
 * broadcasting), must not be a value the match removes, and the fused conv must have no
 * activation yet. No cycle can arise: a residual computed from the conv's output would give a
 * matched intermediate a consumer outside the match, which the engine refuses.
 */
function residualCondition(m: Match, g: Graph): boolean | string {
  const p = main(m);
  if (p.op === 'fused_conv2d' && (p.attrs as { activation: Activation }).activation !== 'none') return false;
  const residual = m.values.residual;
  if (m.matched.some((n) => n.name === residual)) return false;
  const shape = g.value(residual).shape;
  if (!sameShape(shape, p.output.shape)) return `residual '${residual}' [${shape.join(',')}] is broadcast to the conv's output [${p.output.shape.join(',')}]`;
  return true;
}

/** conv (+ bias) + add(residual), either operand order (-> activation). */
const residualRules: RewriteRule[] = RESIDUAL_SOURCES.flatMap((source) =>
  (['none', ...ACTIVATIONS] as const).flatMap((activation) =>
    (['left', 'right'] as const).map(
      (side): RewriteRule => ({
        name: `${source.key}+add${activation === 'none' ? '' : `+${activation}`} (conv on the ${side})`,
        pattern: activated(activation, side === 'left' ? op('add', source.pattern, any('residual')) : op('add', any('residual'), source.pattern)),
        condition: residualCondition,
        replace: fuseInto('fused_conv2d', activation, true),
      }),
    ),
  ),
);

/** Residual rules first: at an add (or its activation) the residual form is the larger pattern. */
export const fusionRules: readonly RewriteRule[] = [...residualRules, ...biasRules, ...activationRules];

export const convFusion = rulePass(
  'fuse',
  'fuses conv2d / depthwise_conv2d / matmul -> bias_add (-> add residual) (-> relu | relu6) into fused_conv2d / fused_depthwise_conv2d / fused_matmul',
  fusionRules,
);
