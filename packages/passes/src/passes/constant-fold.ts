import { Tensor, atNode, exactRef, numel, opSpec, type Graph, type Node, type RefTensor } from '@tessera/core';
import { makeReport } from '../report.js';
import type { Pass, PassOptions, PassResult } from '../types.js';

/**
 * Constant folding: a node whose operands are all constants (or folded nodes) is evaluated once
 * with the float64 reference and becomes a float32 constant of the same name, so nothing that
 * consumes it changes. Chains are folded in float64 and rounded once, when stored. The rounding
 * (at most u * |value|) is inside the bound the reference gives the folded node, so the pass is exact.
 */
export const constantFolding: Pass = {
  name: 'constant-fold',
  exact: true,
  description: 'evaluates nodes whose operands are all constants and stores the results as constants',
  run(graph: Graph, options: PassOptions): PassResult {
    const limit = options.maxFoldElements ?? 2 ** 24;
    const values = new Map<string, RefTensor>();
    const ref = (name: string): RefTensor => {
      let r = values.get(name);
      if (!r) {
        const t = graph.constants.get(name)!;
        r = exactRef(t.shape, t.data);
        values.set(name, r);
      }
      return r;
    };
    const folded: Node[] = [];
    const skipped: string[] = [];
    for (const n of graph.nodes) {
      if (!n.inputs.every((i) => graph.kind(i) === 'constant' || values.has(i))) continue;
      if (numel(n.output.shape) > limit) {
        skipped.push(`'${n.name}' (${n.op}): output of ${numel(n.output.shape)} elements exceeds maxFoldElements ${limit}`);
        continue;
      }
      const inputs = n.inputs.map(ref);
      values.set(n.name, atNode(n.name, n.op, () => opSpec(n.op).reference(inputs, n.attrs, n.output.shape)));
      folded.push(n);
    }
    if (folded.length === 0) {
      return { graph, report: makeReport(constantFolding, graph, graph, { matched: skipped.length, rewritten: 0, skipped }) };
    }
    const foldedNames = new Set(folded.map((n) => n.name));
    const nodes = graph.nodes.filter((n) => !foldedNames.has(n.name));
    // Keep a folded value (and an original constant) only where something still uses it.
    const used = new Set<string>(Object.values(graph.outputs));
    for (const n of nodes) for (const i of n.inputs) used.add(i);
    const consumedByFolded = new Set(folded.flatMap((n) => n.inputs));
    const constants = new Map<string, Tensor>();
    for (const [name, t] of graph.constants) if (used.has(name) || !consumedByFolded.has(name)) constants.set(name, t);
    const changes: string[] = [];
    for (const n of folded) {
      if (!used.has(n.name)) continue;
      const v = values.get(n.name)!;
      constants.set(n.name, new Tensor(v.shape, Float32Array.from(v.value)));
      changes.push(`folded ${n.op} '${n.name}' into a constant of ${numel(v.shape)} elements`);
    }
    const inner = folded.length - changes.length;
    if (inner > 0) changes.push(`folded ${inner} intermediate node(s) of those constants away`);
    const after = graph.with({ nodes, constants });
    return {
      graph: after,
      report: makeReport(constantFolding, graph, after, { matched: folded.length + skipped.length, rewritten: folded.length, changes, skipped }),
    };
  },
};
