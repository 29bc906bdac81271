import { saveGraph } from '@tessera/core/node';
import type { Command } from 'commander';
import { resolveGraph, exampleNames } from '../graphs.js';
import { checkOutputPath } from '../flags.js';

export function exportCommand(program: Command): void {
  program
    .command('export')
    .description('write an example graph as a JSON graph file')
    .argument('<example>', `one of: ${exampleNames()}`)
    .requiredOption('-o, --output <file.json>', 'where to write the graph')
    .option('--sidecar', 'write weights to a .bin file next to the JSON instead of inline base64')
    .action(async (name: string, opts: { output: string; sidecar?: boolean }) => {
      await checkOutputPath('--output', opts.output);
      const graph = await resolveGraph(name);
      const files = await saveGraph(opts.output, graph, { weights: opts.sidecar ? 'sidecar' : 'inline' });
      console.log(`wrote ${Object.values(files).filter(Boolean).join(' and ')}`);
    });
}
