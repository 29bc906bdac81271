import { evaluate, numel, prng, shapeStr, type Feeds, type Graph } from '@tessera/core';
import { readNpyFile, writeNpyFile } from '@tessera/core/node';
import { backendNames, createSession, type ExecEvent } from '@tessera/runtime';
import { Command, Option } from 'commander';
import Table from 'cli-table3';
import { resolveGraph, exampleNames } from '../graphs.js';
import { agreement } from '../agreement.js';

interface RunOptions {
  backend: string;
  input: string[];
  output: string[];
  seed: string;
  runs: string;
  profile?: boolean;
  check?: boolean;
}

export function runCommand(program: Command): void {
  program
    .command('run')
    .description('run a graph on a backend (random inputs unless given .npy files)')
    .argument('<graph>', `a graph .json file or an example: ${exampleNames()}`)
    .addOption(new Option('-b, --backend <name>', `backend to run on (registered: ${backendNames().join(', ')}; 'reference' = float64 interpreter)`).default('cpu'))
    .option('-i, --input <name=file.npy>', 'an input from a .npy file (repeatable)', collect, [])
    .option('-o, --output <[name=]file.npy>', 'write an output to a .npy file (repeatable; the name may be left out for a graph with one output)', collect, [])
    .option('--seed <n>', 'seed of the random inputs', '1')
    .option('--runs <n>', 'timed runs after one warm-up run', '5')
    .option('--profile', 'print time per node (median over the timed runs)')
    .option('--check', 'compare the outputs with the float64 reference (error as a fraction of its bound)')
    .action(async (name: string, opts: RunOptions) => {
      const graph = await resolveGraph(name);
      const feeds = await readFeeds(graph, opts.input, Number(opts.seed));
      const outputs = opts.backend === 'reference' ? referenceOutputs(graph, feeds) : await runOnBackend(graph, feeds, opts);
      for (const [out, data] of Object.entries(outputs)) {
        const shape = graph.value(graph.outputs[out]).shape;
        const head = Array.from(data.slice(0, 6), (v) => v.toPrecision(5)).join(', ');
        console.log(`${out} ${shapeStr(shape)}: [${head}${data.length > 6 ? ', ...' : ''}]`);
      }
      if (opts.check && opts.backend !== 'reference') {
        const ref = evaluate(graph, feeds);
        for (const [out, data] of Object.entries(outputs)) {
          const a = agreement(data, ref[out]);
          console.log(`${out}: ${a.ok ? 'agrees with' : 'DISAGREES with'} the float64 reference, worst error ${a.worst.toExponential(2)} of its bound`);
          if (!a.ok) process.exitCode = 1;
        }
      }
      await writeOutputs(graph, outputs, opts.output);
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function readFeeds(graph: Graph, specs: string[], seed: number): Promise<Feeds> {
  const given = new Map(specs.map((s) => splitPair(s, graph.inputs.length === 1 ? graph.inputs[0].name : undefined)));
  const feeds: Record<string, Float32Array> = {};
  for (const [i, v] of graph.inputs.entries()) {
    const file = given.get(v.name);
    if (file) {
      const arr = await readNpyFile(file);
      if (numel(arr.shape) !== numel(v.shape)) throw new Error(`input '${v.name}' needs shape ${shapeStr(v.shape)}; ${file} holds ${shapeStr(arr.shape)}`);
      feeds[v.name] = arr.data;
    } else {
      const next = prng(seed + i);
      feeds[v.name] = Float32Array.from({ length: numel(v.shape) }, () => next() * 2 - 1);
    }
  }
  for (const name of given.keys()) if (!(name in feeds)) throw new Error(`--input ${name}: the graph has no input '${name}' (inputs: ${graph.inputs.map((v) => v.name).join(', ')})`);
  return feeds;
}

function splitPair(spec: string, defaultName?: string): [string, string] {
  const eq = spec.indexOf('=');
  if (eq > 0) return [spec.slice(0, eq), spec.slice(eq + 1)];
  if (defaultName) return [defaultName, spec];
  throw new Error(`'${spec}' must be name=file.npy`);
}

function referenceOutputs(graph: Graph, feeds: Feeds): Record<string, Float32Array> {
  const ref = evaluate(graph, feeds);
  return Object.fromEntries(Object.entries(ref).map(([k, v]) => [k, Float32Array.from(v.value)]));
}

async function runOnBackend(graph: Graph, feeds: Feeds, opts: RunOptions): Promise<Record<string, Float32Array>> {
  const session = await createSession(graph, { backend: opts.backend, profile: opts.profile });
  try {
    const t0 = performance.now();
    let outputs = await session.run(feeds);
    const first = performance.now() - t0;
    const times: number[] = [];
    const runs = Math.max(1, Number(opts.runs));
    const nodeTimes = new Map<string, number[]>();
    const sub = session.events$.subscribe((e: ExecEvent) => {
      if (e.type === 'node-end') nodeTimes.set(e.node, [...(nodeTimes.get(e.node) ?? []), e.duration]);
    });
    for (let r = 0; r < runs; r++) {
      const t = performance.now();
      outputs = await session.run(feeds);
      times.push(performance.now() - t);
    }
    sub.unsubscribe();
    const sorted = [...times].sort((a, b) => a - b);
    const { peakBytes, noReuseBytes, compileMs } = session.stats;
    console.log(
      `backend ${opts.backend}: compile ${compileMs.toFixed(1)} ms, first run ${first.toFixed(2)} ms, median of ${runs} runs ${sorted[sorted.length >> 1].toFixed(2)} ms (min ${sorted[0].toFixed(2)}); arena ${(peakBytes / 1024).toFixed(0)} KiB (${(noReuseBytes / 1024).toFixed(0)} KiB without reuse)`,
    );
    if (opts.profile && nodeTimes.size === 0) console.log(`(backend ${opts.backend} reports no per-node times: it runs in another process)`);
    else if (opts.profile) printProfile(graph, nodeTimes);
    return outputs;
  } finally {
    session.dispose();
  }
}

function printProfile(graph: Graph, nodeTimes: Map<string, number[]>): void {
  const table = new Table({ style: { head: [], border: [] }, head: ['node', 'op', 'output shape', 'median ms', 'share'] });
  const medians = graph.nodes.map((n) => {
    const t = [...(nodeTimes.get(n.name) ?? [0])].sort((a, b) => a - b);
    return t[t.length >> 1];
  });
  const total = medians.reduce((a, b) => a + b, 0) || 1;
  graph.nodes.forEach((n, i) => table.push([n.name, n.op, shapeStr(n.output.shape), medians[i].toFixed(3), `${((100 * medians[i]) / total).toFixed(1)}%`]));
  console.log(table.toString());
}

async function writeOutputs(graph: Graph, outputs: Record<string, Float32Array>, specs: string[]): Promise<void> {
  const names = Object.keys(graph.outputs);
  for (const spec of specs) {
    const [name, file] = splitPair(spec, names.length === 1 ? names[0] : undefined);
    if (!(name in outputs)) throw new Error(`--output ${spec}: the graph has no output '${name}' (outputs: ${names.join(', ')})`);
    await writeNpyFile(file, graph.value(graph.outputs[name]).shape, outputs[name]);
    console.log(`wrote ${name} to ${file}`);
  }
}
