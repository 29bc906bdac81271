import { shapeStr, summarize, valueShapeStr, type Graph } from '@tessera/core';
import { Option, type Command } from 'commander';
import { resolveGraph, exampleNames } from '../graphs.js';
import { cliTable, count } from '../tables.js';

/** Optimization levels the commands take (the pipelines of @tessera/passes). */
export const LEVELS = ['O0', 'O1', 'O2'];

export function summaryCommand(program: Command): void {
  program
    .command('summary')
    .description('print a graph\'s nodes with output shapes, parameters and MACs (like Keras\' model.summary())')
    .argument('<graph>', `a graph .json file or an example: ${exampleNames()}`)
    .option('--graph', 'also print the graph\'s text form')
    // choices: a bad level fails before anything is printed.
    .addOption(new Option('-l, --level <level>', 'also show the graph after this optimization level').choices(LEVELS))
    .option('--json', 'print the summary as JSON (packages/cli/README.md)')
    .action(async (name: string, opts: { graph?: boolean; level?: string; json?: boolean }) => {
      const graph = await resolveGraph(name);
      // passes (and inversify under it) only load when asked for: `tessera summary` starts fast.
      const optimized = opts.level ? (await import('@tessera/passes')).optimize(graph, { level: opts.level }).graph : undefined;
      if (opts.json) {
        console.log(JSON.stringify({ ...summaryJson(graph), ...(optimized && { optimized: { level: opts.level, ...summaryJson(optimized) } }) }, null, 2));
        return;
      }
      if (opts.graph) console.log(graph.toString() + '\n');
      console.log(summaryText(graph));
      if (optimized) {
        console.log(`\nafter ${opts.level}:`);
        if (opts.graph) console.log(optimized.toString() + '\n');
        console.log(summaryText(optimized));
      }
    });
}

/** The summary's JSON shape (documented in packages/cli/README.md). */
export function summaryJson(graph: Graph) {
  const s = summarize(graph);
  return {
    graph: graph.name,
    // An open batch is null (the graph takes any batch).
    inputs: graph.inputs.map((v) => ({ name: v.name, shape: v.openBatch ? [null, ...v.shape.slice(1)] : [...v.shape] })),
    outputs: Object.entries(graph.outputs).map(([name, value]) => ({ name, value, shape: [...graph.value(value).shape] })),
    nodes: s.rows.map((r) => ({ name: r.node, op: r.op, shape: [...r.shape], params: r.params, macs: r.macs })),
    totalParams: s.totalParams,
    totalMacs: s.totalMacs,
    /** The batch is open: shapes and MACs are per item (batch 1). */
    perItem: s.perItem,
  };
}

/** Inputs and nodes with output shape, parameters and MACs, then the totals and outputs. */
export function summaryText(graph: Graph): string {
  const s = summarize(graph);
  const table = cliTable(['node', 'op', 'output shape', 'params', 'MACs'], [3, 4]);
  for (const v of graph.inputs) table.push([v.name, 'input', valueShapeStr(v), '0', '0']);
  for (const r of s.rows) table.push([r.node, r.op, shapeStr(r.shape), count(r.params), count(r.macs)]);
  const outputs = Object.entries(graph.outputs).map(([k, v]) => `${k} = ${v} ${shapeStr(graph.value(v).shape)}`);
  return [`graph '${graph.name}'`, table.toString(), `total params: ${count(s.totalParams)}    total MACs: ${count(s.totalMacs)}${s.perItem ? ' per item (the batch is open)' : ''}`, `outputs: ${outputs.join(', ')}`].join('\n');
}
