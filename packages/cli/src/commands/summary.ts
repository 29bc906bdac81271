import { formatSummary } from '@tessera/core';
import type { Command } from 'commander';
import { resolveGraph, exampleNames } from '../graphs.js';

export function summaryCommand(program: Command): void {
  program
    .command('summary')
    .description('print a graph\'s nodes with output shapes, parameters and MACs (like Keras\' model.summary())')
    .argument('<graph>', `a graph .json file or an example: ${exampleNames()}`)
    .option('--graph', 'also print the graph\'s text form')
    .action(async (name: string, opts: { graph?: boolean }) => {
      const graph = await resolveGraph(name);
      if (opts.graph) console.log(graph.toString() + '\n');
      console.log(formatSummary(graph));
    });
}
