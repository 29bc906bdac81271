import type { Graph, Tensor } from '@tessera/core';
import { makeReport } from '../report.js';
import type { Pass, PassResult } from '../types.js';

/**
 * Dead-node elimination: removes every node (and constant) no graph output depends on.
 * Graph inputs stay: they are the graph's interface, even when unused.
 */
export const deadNodeElimination: Pass = {
  name: 'dce',
  exact: true,
  description: 'removes nodes and constants that no output depends on',
  run(graph: Graph): PassResult {
    const live = new Set<string>(Object.values(graph.outputs));
    for (let i = graph.nodes.length - 1; i >= 0; i--) {
      const n = graph.nodes[i];
      if (live.has(n.name)) for (const input of n.inputs) live.add(input);
    }
    const nodes = graph.nodes.filter((n) => live.has(n.name));
    const deadNodes = graph.nodes.filter((n) => !live.has(n.name));
    const deadConstants = [...graph.constants.keys()].filter((c) => !live.has(c));
    if (deadNodes.length === 0 && deadConstants.length === 0) {
      return { graph, report: makeReport(deadNodeElimination, graph, graph, { matched: 0, rewritten: 0 }) };
    }
    const constants = new Map<string, Tensor>([...graph.constants].filter(([c]) => live.has(c)));
    const after = graph.with({ nodes, constants });
    const changes = deadNodes.map((n) => `removed ${n.op} '${n.name}'`);
    if (deadConstants.length > 0) changes.push(`removed ${deadConstants.length} unused constant(s): ${deadConstants.slice(0, 8).join(', ')}${deadConstants.length > 8 ? ', ...' : ''}`);
    return {
      graph: after,
      report: makeReport(deadNodeElimination, graph, after, { matched: deadNodes.length, rewritten: deadNodes.length, changes }),
    };
  },
};
