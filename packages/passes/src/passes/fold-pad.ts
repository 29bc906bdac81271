import { attrsOf, convGeometry, pad as padSpec, type Conv2dAttrs, type Graph } from '@tessera/core';
import { any, named, op, type Match, type RewriteRule } from '../rewrite.js';
import { rulePass } from './rule-pass.js';

/*
 * Pad folding: a pad of zeros on H and W only, read by a conv (conv2d, depthwise_conv2d or their
 * fused forms), becomes part of the conv's explicit padding. The conv's padded taps are zeros
 * multiplied by the weights (docs/SEMANTICS.md), exactly like the pad's added cells, so every
 * output is the same sum of the same products in the same order: exact. The conv's own padding is
 * resolved on the padded input (SAME included: its pads are then plain numbers) and the pad's
 * added to it: [[top + padTop, bottom + padBottom], [left + padLeft, right + padRight]], which gives
 * the same windows over the same cells.
 *
 * maxpool is never folded into: its padding is SAME or VALID only (no explicit pads), and its
 * padded cells never win while a pad's zeros may, so the two agree only on inputs known to be
 * non-negative with the pad equal to SAME's own pads — a case this pass does not try to prove.
 */

const TARGETS: readonly { op: string; operands: number }[] = [
  { op: 'conv2d', operands: 2 },
  { op: 'depthwise_conv2d', operands: 2 },
  { op: 'fused_conv2d', operands: 3 },
  { op: 'fused_conv2d', operands: 4 },
  { op: 'fused_depthwise_conv2d', operands: 3 },
];

/** Zeros on H and W only (N and C unpadded), or why not. */
function foldablePad(m: Match): boolean | string {
  const { paddings, value } = attrsOf(m.nodes.pad, padSpec);
  if (paddings.length !== 4) return false;
  if (value !== 0) return `pad '${m.nodes.pad.name}' pads with ${value}, not 0`;
  const [n, , , c] = paddings;
  if (n[0] + n[1] + c[0] + c[1] !== 0) return `pad '${m.nodes.pad.name}' pads the batch or channel dimension`;
  return true;
}

/** The conv's padding resolved on the padded input, plus the pad's: explicit pads over the pad's input. */
function foldedPadding(m: Match, g: Graph): [[number, number], [number, number]] {
  const conv = m.root;
  const attrs = conv.attrs as Conv2dAttrs;
  const depthwise = conv.op.includes('depthwise');
  const geo = convGeometry(g.value(m.nodes.pad.name).shape, g.value(conv.inputs[1]).shape, attrs, depthwise);
  const [, [t, b], [l, r]] = attrsOf(m.nodes.pad, padSpec).paddings;
  return [
    [t + geo.padTop, b + geo.padBottom],
    [l + geo.padLeft, r + geo.padRight],
  ];
}

export const foldPadRules: readonly RewriteRule[] = TARGETS.map(
  (target): RewriteRule => ({
    name: `fold-pad ${target.op}${target.operands === 4 ? ' (residual)' : ''}`,
    pattern: op(target.op, named('pad', op('pad', any('x'))), ...Array.from({ length: target.operands - 1 }, () => any())),
    condition: foldablePad,
    replace: (m, emit) => {
      const conv = m.root;
      const padding = foldedPadding(m, emit.graph);
      return emit.node(conv.op, [m.values.x, ...conv.inputs.slice(1)], { ...conv.attrs, padding }, conv.name);
    },
    describe: (m, _result, g) => `fold-pad: ${m.root.name} <- ${m.nodes.pad.name} (padding ${JSON.stringify(foldedPadding(m, g))})`,
  }),
);

export const foldPad = rulePass('fold-pad', "folds a zero pad of H and W into the following conv's explicit padding", foldPadRules);
