import { formatSummary } from '@tessera/core';
import { saveGraph } from '@tessera/core/node';
import { formatReport, optimize, type FactorizeOptions } from '@tessera/passes';
import { Option, type Command } from 'commander';
import { resolveGraph, exampleNames } from '../graphs.js';
import { checkOutputPath, intFlag } from '../flags.js';
import { LEVELS } from './summary.js';

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
    .addOption(new Option('-l, --level <level>', 'O0: nothing; O1: exact cleanups and fusions; O2: O1 + 1x1 conv -> matmul and conv composition').choices(LEVELS).default('O1'))
    .option('--factorize <spec>', 'LOSSY, opt-in: Tucker-2 factorization of KxK convs, by kept energy (energy=0.95) or ranks (ranks=r1,r2)')
    .option('-o, --output <file.json>', 'write the optimized graph')
    .option('--verify', 'run the graph before and after every pass on random inputs through the reference and compare')
    .option('--summary', 'print the summary of the graph before and after')
    .action(async (name: string, opts: OptimizeOptions) => {
      const factorize = parseFactorize(opts.factorize);
      if (opts.output) await checkOutputPath('--output', opts.output);
      const graph = await resolveGraph(name);
      const result = optimize(graph, { level: opts.level, factorize, verify: opts.verify });
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
  const eq = spec.indexOf('=');
  const [key, value] = eq < 0 ? [spec, ''] : [spec.slice(0, eq), spec.slice(eq + 1)];
  // Plain decimals only: Number() would also take '0x1', '1e-1' or ' '.
  if (key === 'energy' && /^(0?\.\d+|1(\.0*)?)$/.test(value) && Number(value) > 0) return { energy: Number(value) };
  const ranks = value.split(',');
  if (key === 'ranks' && ranks.length === 2) {
    const [r1, r2] = ranks.map((r) => intFlag('--factorize ranks', r, { min: 1, max: MAX_RANK }));
    return { ranks: [r1, r2] };
  }
  throw new Error(`--factorize: expected energy=<a number in (0, 1]> or ranks=<r1>,<r2>, got '${spec}'`);
}

/** Ranks beyond any conv's channel count are pointless; this only keeps the number sane. */
const MAX_RANK = 1 << 16;
