import { formatSummary } from '@tessera/core';
import { optimize } from '@tessera/passes';
import type { Command } from 'commander';
import { resolveGraph, exampleNames } from '../graphs.js';

export function summaryCommand(program: Command): void {
  program
    .command('summary')
    .description('print a graph\'s nodes with output shapes, parameters and MACs (like Keras\' model.summary())')
    .argument('<graph>', `a graph .json file or an example: ${exampleNames()}`)
    .option('--graph', 'also print the graph\'s text form')
    .option('-l, --level <level>', 'also show the graph after this optimization level (O1, O2)')
    .action(async (name: string, opts: { graph?: boolean; level?: string }) => {
      const graph = await resolveGraph(name);
      if (opts.graph) console.log(graph.toString() + '\n');
      console.log(formatSummary(graph));
      if (opts.level) {
        const optimized = optimize(graph, { level: opts.level }).graph;
        console.log(`\nafter ${opts.level}:`);
        if (opts.graph) console.log(optimized.toString() + '\n');
        console.log(formatSummary(optimized));
      }
    });
}
