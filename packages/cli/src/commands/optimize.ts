import { formatSummary } from '@tessera/core';
import { saveGraph } from '@tessera/core/node';
import { formatReport, optimize, type FactorizeOptions } from '@tessera/passes';
import { Option, type Command } from 'commander';
import { resolveGraph, exampleNames } from '../graphs.js';

interface OptimizeOptions {
  level: string;
  factorize?: string;
  output?: string;
  verify?: boolean;
  summary?: boolean;
}

export function optimizeCommand(program: Command): void {
  program
    .command('optimize')
    .description('run an optimization pipeline on a graph and report what each pass did')
    .argument('<graph>', `a graph .json file or an example: ${exampleNames()}`)
    .addOption(new Option('-l, --level <level>', 'O0: nothing; O1: exact cleanups and fusions; O2: O1 + 1x1 conv -> matmul and conv composition').choices(['O0', 'O1', 'O2']).default('O1'))
    .option('--factorize <spec>', 'LOSSY, opt-in: Tucker-2 factorization of KxK convs, by kept energy (energy=0.95) or ranks (ranks=r1,r2)')
    .option('-o, --output <file.json>', 'write the optimized graph')
    .option('--verify', 'run the graph before and after every pass on random inputs through the reference and compare')
    .option('--summary', 'print the summary of the graph before and after')
    .action(async (name: string, opts: OptimizeOptions) => {
      const graph = await resolveGraph(name);
      const result = optimize(graph, { level: opts.level, factorize: parseFactorize(opts.factorize), verify: opts.verify });
      if (opts.summary) console.log(`before:\n${formatSummary(graph)}\n`);
      console.log(formatReport(result.reports));
      if (opts.summary) console.log(`\nafter:\n${formatSummary(result.graph)}`);
      if (result.verification && !result.verification.ok) {
        console.error(`verification failed: pass '${result.verification.firstMismatch?.pass}' changed the results`);
        process.exitCode = 1;
      }
      if (opts.output) {
        await saveGraph(opts.output, result.graph);
        console.log(`wrote ${opts.output}`);
      }
    });
}

export function parseFactorize(spec: string | undefined): FactorizeOptions | undefined {
  if (spec === undefined) return undefined;
  const [key, value = ''] = spec.split('=');
  if (key === 'energy' && Number(value) > 0 && Number(value) <= 1) return { energy: Number(value) };
  const ranks = value.split(',').map(Number);
  if (key === 'ranks' && ranks.length === 2 && ranks.every((r) => Number.isInteger(r) && r > 0)) return { ranks: [ranks[0], ranks[1]] };
  throw new Error(`--factorize ${spec}: expected energy=<0..1> or ranks=<r1>,<r2>`);
}
