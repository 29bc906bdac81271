import { formatSummary } from '@tessera/core';
import { optimize } from '@tessera/passes';
import { Option, type Command } from 'commander';
import { resolveGraph, exampleNames } from '../graphs.js';

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
    .action(async (name: string, opts: { graph?: boolean; level?: string }) => {
      const graph = await resolveGraph(name);
      const optimized = opts.level ? optimize(graph, { level: opts.level }).graph : undefined;
      if (opts.graph) console.log(graph.toString() + '\n');
      console.log(formatSummary(graph));
      if (optimized) {
        console.log(`\nafter ${opts.level}:`);
        if (opts.graph) console.log(optimized.toString() + '\n');
        console.log(formatSummary(optimized));
      }
    });
}
