import { sameShape } from '@tessera/core';
import { any, named, op, type RewriteRule } from '../rewrite.js';
import { rulePass } from './rule-pass.js';

/** Reshape folding as rules: a reshape of a reshape reads the first one's input; a reshape to the same shape goes away. */
export const reshapeRules: readonly RewriteRule[] = [
  {
    name: 'reshape-of-reshape',
    pattern: op('reshape', named('inner', op('reshape', any('x')))),
    // Reshapes are views: folding past a shared (or output) inner reshape duplicates no work; the inner one stays for its other users.
    sharedIntermediates: true,
    outputIntermediates: true,
    replace: (m, emit) => {
      const x = m.values.x;
      const shape = m.root.output.shape;
      return sameShape(emit.shape(x), shape) ? x : emit.node('reshape', [x], { shape: [...shape] }, m.root.name);
    },
  },
  {
    name: 'identity-reshape',
    pattern: op('reshape', any('x')),
    condition: (m, g) => sameShape(g.value(m.values.x).shape, m.root.output.shape),
    replace: (m) => m.values.x,
  },
];

export const reshapeFolding = rulePass('reshape-fold', 'folds reshape of reshape and removes identity reshapes', reshapeRules);
