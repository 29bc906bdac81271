import type { Graph } from '@tessera/core';
import { makeReport } from '../report.js';
import { applyRules, type RewriteRule } from '../rewrite.js';
import type { Pass, PassOptions, PassResult } from '../types.js';

/** A pass that is nothing but a table of rewrite rules, applied until none fires. */
export function rulePass(name: string, description: string, rules: readonly RewriteRule[] | ((options: PassOptions) => readonly RewriteRule[])): Pass {
  const pass: Pass = {
    name,
    exact: true,
    description,
    run(graph: Graph, options: PassOptions): PassResult {
      const r = applyRules(graph, typeof rules === 'function' ? rules(options) : rules);
      return {
        graph: r.graph,
        report: makeReport(pass, graph, r.graph, { matched: r.matched, rewritten: r.rewritten, changes: r.changes, skipped: r.skipped }),
      };
    },
  };
  return pass;
}
