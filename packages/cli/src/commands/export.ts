import { saveGraph } from '@tessera/core/node';
import { exportOnnx } from '@tessera/onnx';
import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { resolveGraph, exampleNames } from '../graphs.js';
import { checkOutputPath } from '../flags.js';

const FORMATS = ['json', 'onnx'] as const;
type Format = (typeof FORMATS)[number];

export function exportCommand(program: Command): void {
  program
    .command('export')
    .description('write a graph (an example, a .json graph or an .onnx model) as a JSON graph file or an ONNX model')
    .argument('<graph>', `a graph .json file, an .onnx model or an example: ${exampleNames()}`)
    .requiredOption('-o, --output <file>', 'where to write the graph (.json or .onnx)')
    .option('--format <format>', `${FORMATS.join(' or ')} (default: from the output's extension, else json)`)
    .option('--sidecar', 'json: write weights to a .bin file next to the JSON instead of inline base64')
    .action(async (name: string, opts: { output: string; format?: string; sidecar?: boolean }) => {
      const format = (opts.format ?? (opts.output.endsWith('.onnx') ? 'onnx' : 'json')) as Format;
      if (!FORMATS.includes(format)) throw new Error(`--format '${opts.format}' is not one of ${FORMATS.join(', ')}`);
      if (format === 'onnx' && opts.sidecar) throw new Error('--sidecar applies to --format json only (an ONNX model holds its weights)');
      await checkOutputPath('--output', opts.output);
      const graph = await resolveGraph(name);
      if (format === 'onnx') {
        await writeFile(opts.output, exportOnnx(graph));
        return console.log(`wrote ${opts.output} (ONNX, opset 13, 4-D inputs and outputs NCHW)`);
      }
      const files = await saveGraph(opts.output, graph, { weights: opts.sidecar ? 'sidecar' : 'inline' });
      console.log(`wrote ${Object.values(files).filter(Boolean).join(' and ')}`);
    });
}
