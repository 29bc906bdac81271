import { evaluate, numel, prng, shapeStr, algorithmWiden, type Feeds, type Graph, type Shape } from '@tessera/core';
import { readNpyFile, writeNpyFile } from '@tessera/core/node';
import { backendNames, createSession, type ExecEvent, type Session } from '@tessera/runtime';
import { Command, Option } from 'commander';
import { resolveGraph, exampleNames } from '../graphs.js';
import { agreement } from '../agreement.js';
import { MAX_SEED, applyAlgorithmFlags, checkOutputPath, type AlgorithmFlags, intFlag, own, splitPair } from '../flags.js';
import { statusLine, type Status } from '../progress.js';
import { cliTable } from '../tables.js';

interface RunOptions extends AlgorithmFlags {
  backend: string;
  input: string[];
  output: string[];
  seed: string;
  runs: string;
  profile?: boolean;
  check?: boolean;
  json?: boolean;
}

/** The most timed runs `--runs` takes. */
const MAX_RUNS = 1_000_000;

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
    .option('--profile', 'print time per node (median over as many extra, observed runs)')
    .option('--check', 'compare the outputs with the float64 reference (error as a fraction of its bound)')
    .option('--no-winograd', 'cpu, workers: run every conv with the direct algorithm (its rounding bit for bit), not Winograd F(4x4, 3x3)')
    .option('--no-strassen', 'cpu, workers: run every matmul with the direct algorithm (its rounding bit for bit), not Strassen')
    .option('--json', 'print the timings, outputs and checks as JSON (packages/cli/README.md)')
    .action(async (name: string, opts: RunOptions) => {
      await applyAlgorithmFlags(opts);
      const seed = intFlag('--seed', opts.seed, { min: 0, max: MAX_SEED });
      const runs = intFlag('--runs', opts.runs, { min: 1, max: MAX_RUNS });
      if (opts.backend !== 'reference' && !backendNames().includes(opts.backend)) {
        throw new Error(`--backend: no backend named '${opts.backend}' (registered: ${backendNames().join(', ')}, reference)`);
      }
      const graph = await resolveGraph(name);
      const inputFiles = namedFiles('--input', opts.input, graph.inputs.map((v) => v.name), 'input');
      const outputFiles = namedFiles('--output', opts.output, Object.keys(graph.outputs), 'output');
      for (const file of outputFiles.values()) await checkOutputPath('--output', file);
      const feeds = await readFeeds(graph, inputFiles, seed);
      const algorithms = new Map<string, string>();
      const reference = opts.backend === 'reference';
      const status = statusLine(reference ? 'reference: evaluating in float64' : `${opts.backend}: starting the backend and compiling`, !opts.json);
      let result: BackendResult;
      let checks: OutputCheck[] | undefined;
      try {
        result = reference ? { outputs: referenceOutputs(graph, feeds) } : await runOnBackend(graph, feeds, opts.backend, runs, opts.profile ?? false, status, algorithms);
        if (opts.check && !reference) {
          status.update('checking against the float64 reference');
          checks = checkOutputs(graph, feeds, result.outputs, algorithms);
        }
      } finally {
        status.done();
      }
      const { outputs } = result;
      for (const [out, file] of outputFiles) await writeNpyFile(file, graph.value(graph.outputs[out]).shape, outputs[out]);
      if (checks?.some((c) => !c.ok)) process.exitCode = 1;
      if (opts.json) {
        console.log(JSON.stringify(runJson(graph, opts.backend, seed, result, checks, outputFiles), null, 2));
        return;
      }
      if (result.timing) console.log(timingLine(opts.backend, result.timing));
      if (result.nodeTimes?.size === 0) console.log(`(backend ${opts.backend} reports no per-node times)`);
      else if (result.nodeTimes) printProfile(graph, result.nodeTimes, result.epilogues);
      for (const [out, data] of Object.entries(outputs)) {
        const shape = graph.value(graph.outputs[out]).shape;
        const head = Array.from(data.slice(0, 6), (v) => v.toPrecision(5)).join(', ');
        console.log(`${out} ${shapeStr(shape)}: [${head}${data.length > 6 ? ', ...' : ''}]`);
      }
      for (const c of checks ?? []) console.log(`${c.output}: ${c.ok ? 'agrees with' : 'DISAGREES with'} the float64 reference, worst error ${c.worst.toExponential(2)} of its bound`);
      for (const [out, file] of outputFiles) console.log(`wrote ${out} to ${file}`);
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `name=file` specs by name, each name one of `names` (the name may be left out when there is only one). */
function namedFiles(flag: string, specs: readonly string[], names: readonly string[], what: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const spec of specs) {
    const [name, file] = splitPair(flag, spec, `name=file.npy (the graph's ${what}s: ${names.join(', ')})`, names.length === 1 ? names[0] : undefined);
    if (!names.includes(name)) throw new Error(`${flag} ${spec}: the graph has no ${what} '${name}' (${what}s: ${names.join(', ')})`);
    if (files.has(name)) throw new Error(`${flag} ${spec}: ${what} '${name}' is given twice`);
    files.set(name, file);
  }
  return files;
}

async function readFeeds(graph: Graph, files: ReadonlyMap<string, string>, seed: number): Promise<Feeds> {
  const feeds: Record<string, Float32Array> = {};
  for (const [i, v] of graph.inputs.entries()) {
    const file = files.get(v.name);
    if (file !== undefined) {
      const arr = await readNpyFile(file);
      if (!sameLayout(arr.shape, v.shape)) {
        throw new Error(`--input ${v.name}: ${file} holds shape ${shapeStr(arr.shape)}, but input '${v.name}' is ${shapeStr(v.shape)} (a leading batch of 1 may be added or dropped, nothing else)`);
      }
      feeds[v.name] = arr.data;
    } else {
      const next = prng(seed + i);
      feeds[v.name] = Float32Array.from({ length: numel(v.shape) }, () => next() * 2 - 1);
    }
  }
  return feeds;
}

/** The same shape, or one with a leading batch of 1 more or less: the data is laid out alike. */
export function sameLayout(a: Shape, b: Shape): boolean {
  const same = (x: Shape, y: Shape) => x.length === y.length && x.every((d, i) => d === y[i]);
  return same(a, b) || (a[0] === 1 && same(a.slice(1), b)) || (b[0] === 1 && same(a, b.slice(1)));
}

function referenceOutputs(graph: Graph, feeds: Feeds): Record<string, Float32Array> {
  const ref = evaluate(graph, feeds);
  return Object.fromEntries(Object.entries(ref).map(([k, v]) => [k, Float32Array.from(v.value)]));
}

interface OutputCheck {
  readonly output: string;
  readonly ok: boolean;
  /** The largest error as a fraction of its bound. */
  readonly worst: number;
}

/** `algorithms`: the nodes the backend ran with another algorithm (Winograd, Strassen), each judged by its wider bound (core's `algorithmWiden`). */
function checkOutputs(graph: Graph, feeds: Feeds, outputs: Readonly<Record<string, Float32Array>>, algorithms: ReadonlyMap<string, string>): OutputCheck[] {
  const ref = evaluate(graph, feeds, { widen: algorithmWiden(algorithms) });
  return Object.entries(outputs).map(([output, data]) => ({ output, ...agreement(data, own(ref, output)!) }));
}

interface Timing {
  readonly compileMs: number;
  readonly firstRunMs: number;
  readonly runs: number;
  readonly medianMs: number;
  readonly minMs: number;
  readonly peakBytes: number;
  readonly noReuseBytes: number;
  readonly kernels?: string;
  readonly kernelsReason?: string;
  /** Nodes by the algorithm the backend ran them with, where not their op's direct one (e.g. 'winograd-f4x4': 3). */
  readonly algorithms: Readonly<Record<string, number>>;
}

interface BackendResult {
  readonly outputs: Record<string, Float32Array>;
  /** Absent for the reference. */
  readonly timing?: Timing;
  /** Per node, the durations of the observed runs (--profile); empty when the backend reports none. */
  readonly nodeTimes?: Map<string, number[]>;
  /** Node -> the node that runs it in its epilogue (its time is that node's). */
  readonly epilogues?: ReadonlyMap<string, string>;
}

/** '; winograd-f4x4 on 3 nodes, strassen-2 on 1 node', or '' when every node ran its direct algorithm. */
function algorithmNote(algorithms: Readonly<Record<string, number>>): string {
  const parts = Object.entries(algorithms).map(([name, n]) => `${name} on ${n} node${n === 1 ? '' : 's'}`);
  return parts.length ? `; ${parts.join(', ')}` : '';
}

function countAlgorithms(algorithms: ReadonlyMap<string, string>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of algorithms.values()) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

function timingLine(backend: string, t: Timing): string {
  const kernelNote = (t.kernels ? `; kernels ${t.kernels}${t.kernelsReason ? ` (${t.kernelsReason})` : ''}` : '') + algorithmNote(t.algorithms);
  return `backend ${backend}: compile ${t.compileMs.toFixed(1)} ms, first run ${t.firstRunMs.toFixed(2)} ms, median of ${t.runs} runs ${t.medianMs.toFixed(2)} ms (min ${t.minMs.toFixed(2)}); arena ${(t.peakBytes / 1024).toFixed(0)} KiB (${(t.noReuseBytes / 1024).toFixed(0)} KiB without reuse)${kernelNote}`;
}

/** `tessera run --json`'s shape (documented in packages/cli/README.md). */
function runJson(graph: Graph, backend: string, seed: number, r: BackendResult, checks: readonly OutputCheck[] | undefined, files: ReadonlyMap<string, string>) {
  return {
    graph: graph.name,
    backend,
    seed,
    timing: r.timing ?? null,
    outputs: Object.entries(r.outputs).map(([name, data]) => ({ name, shape: [...graph.value(graph.outputs[name]).shape], head: Array.from(data.slice(0, 6)), file: files.get(name) ?? null })),
    // Infinity is not JSON: a non-finite mismatch is written as the string "Infinity".
    check: checks?.map((c) => ({ output: c.output, ok: c.ok, worstRatio: Number.isFinite(c.worst) ? c.worst : String(c.worst) })) ?? null,
    profile: r.nodeTimes ? graph.nodes.map((n) => ({ node: n.name, op: n.op, medianMs: median(r.nodeTimes!.get(n.name)), inEpilogueOf: r.epilogues?.get(n.name) ?? null })) : null,
  };
}

function median(times: readonly number[] | undefined): number | null {
  if (!times?.length) return null;
  return [...times].sort((a, b) => a - b)[times.length >> 1];
}

/** Times `runs` unobserved runs after a warm-up; with `profile`, as many more observed runs give the per-node times. */
async function runOnBackend(graph: Graph, feeds: Feeds, backend: string, runs: number, profile: boolean, status: Status, algorithms: Map<string, string>): Promise<BackendResult> {
  // A browser backend starts Chromium here: the slow step a user would otherwise watch in silence.
  const session = await createSession(graph, { backend });
  try {
    for (const [node, algorithm] of session.stats.algorithms) algorithms.set(node, algorithm);
    status.update(`${backend}: first run`);
    const t0 = performance.now();
    let outputs = await session.run(feeds);
    const first = performance.now() - t0;
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      status.update(`${backend}: run ${r + 1} of ${runs}`);
      const t = performance.now();
      outputs = await session.run(feeds);
      times.push(performance.now() - t);
    }
    const sorted = [...times].sort((a, b) => a - b);
    const { peakBytes, noReuseBytes, compileMs, kernels, kernelsReason } = session.stats;
    const timing: Timing = { compileMs, firstRunMs: first, runs, medianMs: sorted[sorted.length >> 1], minMs: sorted[0], peakBytes, noReuseBytes, kernels, kernelsReason, algorithms: countAlgorithms(algorithms) };
    if (!profile) return { outputs, timing };
    status.update(`${backend}: ${runs} observed runs (--profile)`);
    return { outputs, timing, nodeTimes: await profileRuns(session, feeds, runs), epilogues: session.stats.epilogues };
  } finally {
    session.dispose();
  }
}

/** Per-node durations over `runs` runs made while subscribed to the session's events (kept apart from the timed runs: observing costs time). */
async function profileRuns(session: Session, feeds: Feeds, runs: number): Promise<Map<string, number[]>> {
  const nodeTimes = new Map<string, number[]>();
  const sub = session.events$.subscribe((e: ExecEvent) => {
    if (e.type === 'node-end') nodeTimes.set(e.node, [...(nodeTimes.get(e.node) ?? []), e.duration]);
  });
  try {
    for (let r = 0; r < runs; r++) await session.run(feeds);
  } finally {
    sub.unsubscribe();
  }
  return nodeTimes;
}

/** The per-node table; a node run in another's epilogue shows where its time is counted. */
function printProfile(graph: Graph, nodeTimes: Map<string, number[]>, epilogues: ReadonlyMap<string, string> = new Map()): void {
  const table = cliTable(['node', 'op', 'output shape', 'median ms', 'share'], [3, 4]);
  const medians = graph.nodes.map((n) => median(nodeTimes.get(n.name)) ?? 0);
  const total = medians.reduce((a, b) => a + b, 0) || 1;
  graph.nodes.forEach((n, i) => {
    const host = epilogues.get(n.name);
    const time = host ? [`in ${host}`, ''] : [medians[i].toFixed(3), `${((100 * medians[i]) / total).toFixed(1)}%`];
    table.push([n.name, n.op, shapeStr(n.output.shape), ...time]);
  });
  console.log(table.toString());
}
