import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { DrawFormat } from '@tessera/draw';
import { optimize } from '@tessera/passes';
import { Option, type Command } from 'commander';
import { checkOutputPath } from '../flags.js';
import { exampleNames, resolveGraph } from '../graphs.js';
import { LEVELS } from './summary.js';

interface DrawOptions {
  level?: string;
  compare?: boolean;
  format?: DrawFormat;
  output?: string;
}

const FORMATS: readonly DrawFormat[] = ['svg', 'dot'];

/** The format an output file's extension names, when --format does not say. */
const FORMAT_BY_EXTENSION: Readonly<Record<string, DrawFormat>> = { '.dot': 'dot', '.gv': 'dot', '.svg': 'svg' };

export function drawCommand(program: Command): void {
  program
    .command('draw')
    .description('draw a graph (SVG or Graphviz DOT): ops, output shapes, MACs, fused nodes marked; --compare shows it before and after passes')
    .argument('<graph>', `a graph .json file or an example: ${exampleNames()}`)
    .addOption(new Option('-l, --level <level>', 'draw the graph after this optimization level').choices(LEVELS))
    .option('--compare', 'the graph before and after the level (default O1) side by side, with the passes\' rewrite count')
    .addOption(new Option('-f, --format <format>', 'svg or dot (default: from the output file\'s extension, else svg)').choices(FORMATS))
    .option('-o, --output <file>', 'where to write the picture (default: standard output)')
    .action(async (name: string, opts: DrawOptions) => {
      if (opts.output) await checkOutputPath('--output', opts.output);
      const format = opts.format ?? formatOf(opts.output);
      // Loaded here, not with the program: other commands' start-up does not pay for the layout library.
      const { drawComparison, drawGraph, isFusedOp } = await import('@tessera/draw');
      const graph = await resolveGraph(name);
      const level = opts.level ?? (opts.compare ? 'O1' : undefined);
      const result = level ? optimize(graph, { level }) : undefined;
      const drawn = result?.graph ?? graph;
      const picture = !result
        ? drawGraph(graph, format)
        : opts.compare
          ? drawComparison(graph, result.graph, level!, result.reports, format)
          : drawGraph(result.graph, format, `after ${level}`);
      if (!opts.output) {
        process.stdout.write(picture);
        return;
      }
      await writeFile(opts.output, picture);
      const fused = drawn.nodes.filter((n) => isFusedOp(n.op)).length;
      console.log(`wrote ${opts.output}: ${drawn.nodes.length} nodes (${fused} fused)${level ? ` after ${level}` : ''}${opts.compare ? `, beside the ${graph.nodes.length} before` : ''}`);
    });
}

function formatOf(output: string | undefined): DrawFormat {
  const ext = extname(output ?? '').toLowerCase();
  return Object.hasOwn(FORMAT_BY_EXTENSION, ext) ? FORMAT_BY_EXTENSION[ext] : 'svg';
}
