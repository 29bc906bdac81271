import {
  AgreementCollector,
  OP_NAMES_UNDER_TEST,
  REPRO_DIR,
  SPECIAL_PROPERTIES,
  defaultBoundIOGraphs,
  formatRatio,
  freshSeed,
  readRepro,
  replayRepro,
  runConformance,
  tfjsOracle,
  withVariants,
  writeRepro,
  type BackendVariant,
  type Oracle,
  type AgreementCell,
  type ConformanceReport,
  type LikelyReport,
  type GraphTransform,
  type SpecialProperty,
} from '@tessera/conformance';
import { backendNames, defaultContainer, disposeBackends, registerBackend } from '@tessera/runtime';
import { CpuBackend } from '@tessera/backend-cpu';
import { createWorkersBackend } from '@tessera/backend-workers';
import { passSubjects, runPassChecks } from './conformance-passes.js';
import { bottleneckFactorization, convFusion } from '@tessera/passes';
import { Command, Option } from 'commander';
import { createRequire } from 'node:module';
import { writeFile } from 'node:fs/promises';
import { MAX_SEED, ALGORITHMS, applyAlgorithmFlags, checkOutputPath, type AlgorithmFlags, intFlag } from '../flags.js';
import { cliTable } from '../tables.js';

type Container = typeof defaultContainer;

/** The few parts of cli-progress used here (the package ships no types). */
interface ProgressBar {
  start(total: number, value: number, payload?: Record<string, unknown>): void;
  setTotal(total: number): void;
  increment(delta?: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
}
interface CliProgress {
  SingleBar: new (options: Record<string, unknown>, preset?: unknown) => ProgressBar;
  Presets: Record<string, unknown>;
}

export interface ConformanceCliOptions extends AlgorithmFlags {
  backends?: string;
  runs?: string;
  graphs?: string;
  boundIo?: string;
  seed?: string;
  ops?: string;
  special?: string;
  json?: string;
  replay?: string;
  browser?: boolean;
  failuresDir?: string;
  progress?: boolean;
  /** false with --no-split: skip the variants of the built-in backends (cpu-fast, workers-split). */
  split?: boolean;
  passes?: boolean;
  oracle?: string;
  strict?: boolean;
}

/**
 * Variants of the built-in backends, checked after them: cpu with every eligible conv as
 * Winograd and matmul as Strassen (`fast`: at their defaults only large ones are, which the
 * suite's small cases never reach), and workers with every step split over the pool, small graphs
 * too (at its defaults every suite case runs inline on the calling thread, so split ranges,
 * chains and tiles would go unchecked), the algorithms forced there as well. An algorithm the
 * flags turn off (--no-winograd, --no-strassen) stays off in the variants.
 */
function builtinVariants(flags: AlgorithmFlags): Readonly<Record<string, readonly BackendVariant[]>> {
  const algorithms = Object.fromEntries(ALGORITHMS.map((a) => [a, flags[a] === false ? ('off' as const) : ('always' as const)]));
  return {
    cpu: [
      {
        suffix: 'fast',
        description: `cpu with every eligible conv as Winograd, every eligible matmul as Strassen (winograd '${algorithms.winograd}', strassen '${algorithms.strassen}')`,
        create: () => new CpuBackend(algorithms),
      },
    ],
    workers: [
      {
        suffix: 'split',
        description: `workers with every step split (inlineCost 0, inlineGraphCost 0, minPartCost 0; winograd '${algorithms.winograd}', strassen '${algorithms.strassen}')`,
        create: (name) => createWorkersBackend({ name, inlineCost: 0, inlineGraphCost: 0, minPartCost: 0, ...algorithms }),
      },
    ],
  };
}

/** Registers the built-in variants (lazily: nothing starts until a session asks), so their reproduction files replay. */
function registerBuiltinVariants(container: Container, variants: Readonly<Record<string, readonly BackendVariant[]>>): void {
  const known = backendNames(container);
  for (const [base, list] of Object.entries(variants)) {
    if (!known.includes(base)) continue;
    for (const v of list) if (!known.includes(`${base}-${v.suffix}`)) registerBackend(container, `${base}-${v.suffix}`, () => v.create(`${base}-${v.suffix}`), `${base}: ${v.description}`);
  }
}

/** The oracle named by --oracle, loaded (tfjs is an optional dependency). */
async function loadOracle(name: string | undefined): Promise<Oracle | undefined> {
  if (name === undefined || name === 'none') return undefined;
  if (name !== 'tfjs') throw new Error(`--oracle: unknown oracle '${name}' (known: tfjs, none)`);
  return tfjsOracle();
}

/** What the command runs against; tests pass their own container (e.g. with a mutant backend). */
export interface ConformanceCliEnv {
  readonly container?: Container;
  /** Rewrites by name, for replaying a pass failure ('pass:<name>'). Default: the passes of @tessera/passes. */
  readonly transforms?: Readonly<Record<string, GraphTransform>>;
  readonly log?: (line: string) => void;
}


export function conformanceCommand(program: Command): void {
  program
    .command('conformance')
    .description('check backends against the float64 reference with property-based tests (every op, random graphs, bound inputs / outputs, NaN / Inf, extreme magnitudes)')
    .option('-b, --backends <list>', 'comma-separated backends (cpu, workers, webgl or a registered name)', 'cpu')
    .option('--runs <n>', 'cases per op property (and per non-finite / extreme property)', '100')
    .option('--graphs <n>', 'random graphs (0 skips the graph property)', '100')
    .option('--bound-io <n>', 'random graphs run with bound inputs and outputs (session.io); default: --graphs, at most 25; 0 skips')
    .option('--seed <n>', 'fast-check seed (default: a fresh one, printed)')
    .option('--ops <list>', `ops to check (default all: ${OP_NAMES_UNDER_TEST.join(',')}); 'none' checks only random graphs`)
    .option('--special <list>', `non-finite / extreme-value properties (default ${SPECIAL_PROPERTIES.join(',')}; 'none' skips them)`)
    .option('--json <file>', 'also write the report as JSON')
    .option('--replay <file>', 'run a reproduction file (from conformance-failures/) again on --backends (default: the backend that failed)')
    .option('--browser', 'run cpu and workers inside headless Chromium (as browser-cpu, browser-workers); webgl always runs there')
    .addOption(new Option('--failures-dir <dir>', 'where failures are written as reproduction files').default(REPRO_DIR))
    .option('--no-progress', 'no progress bar')
    .option('--no-split', 'do not also check the variants of the built-in backends (cpu-fast: algorithms forced; workers-split: every step split)')
    .option('--passes', 'also check the optimization passes (O1, O2, O2 after O1, each pass alone) on random and pass-shaped graphs, the rewritten graphs run on --backends')
    .option('--oracle <name>', "check each case's reference against an independent oracle: 'tfjs' (needs @tensorflow/tfjs-core and @tensorflow/tfjs-backend-cpu)")
    .option('--no-winograd', 'cpu, workers: every conv with the direct algorithm, not Winograd F(4x4, 3x3) (whose nodes are otherwise judged by its wider bound)')
    .option('--no-strassen', 'cpu, workers: every matmul with the direct algorithm, not Strassen (whose nodes are otherwise judged by its wider bound)')
    .option('--strict', 'fail a case whose error exceeds the likely bound (probabilistic, growing with sqrt(K)); without it such cases pass with a warning')
    .action(async (opts: ConformanceCliOptions, cmd: Command) => {
      const backendsGiven = cmd.getOptionValueSource('backends') === 'cli';
      process.exitCode = await runConformanceCli({ ...opts, backends: backendsGiven || !opts.replay ? opts.backends : undefined });
    });
}

const list = (s: string | undefined): string[] | undefined =>
  s === undefined ? undefined : s.trim() === 'none' ? [] : s.split(',').map((x) => x.trim()).filter(Boolean);

/** Cases per property or graphs at most: a bound on what one command may ask for. */
const MAX_CASES = 1_000_000;

function count(s: string | undefined, flag: string, fallback: number): number {
  return s === undefined ? fallback : intFlag(flag, s, { min: 0, max: MAX_CASES });
}

/** Makes sure the named Node backends are registered (importing their packages), or explains why not. */
/**
 * The backends to run: with `--browser`, cpu and workers become their in-browser twins
 * (browser-cpu, browser-workers); webgl always runs in headless Chromium (@tessera/browser).
 */
function resolveBackends(names: readonly string[], browser: boolean): string[] {
  return names.map((n) => (browser && (n === 'cpu' || n === 'workers') ? `browser-${n}` : n));
}

function ensureBackends(names: readonly string[], container: Container): void {
  const known = backendNames(container);
  const missing = names.filter((n) => !known.includes(n));
  if (missing.length) throw new Error(`no backend named ${missing.map((m) => `'${m}'`).join(', ')} is registered (registered: ${known.join(', ') || 'none'})`);
}

/** Runs the command; resolves with the exit status (0: everything passed). */
export async function runConformanceCli(opts: ConformanceCliOptions, env: ConformanceCliEnv = {}): Promise<number> {
  const container = env.container ?? defaultContainer;
  await applyAlgorithmFlags(opts, container);
  const log = env.log ?? ((line: string) => console.log(line));
  if (opts.replay) return replay(opts, container, env, log);

  const variants = builtinVariants(opts);
  registerBuiltinVariants(container, variants);
  const requested = suiteOptions(opts);
  ensureBackends(requested.backends, container);
  const suite = { ...requested, backends: opts.split === false ? requested.backends : withVariants(requested.backends, container, variants), oracle: await loadOracle(opts.oracle) };
  const { backends, seed, runs, graphs, boundIO } = suite;
  if (opts.json) await checkOutputPath('--json', opts.json);
  log(`tessera conformance: seed ${seed} (pass --seed ${seed} to run the same cases again); backends ${backends.join(', ')}; ${runs} cases per op, ${graphs} random graphs, ${boundIO} with bound IO`);
  const t0 = performance.now();
  const { reports, reproFiles, cells } = await runSuites(suite, opts, container);
  if (opts.passes) {
    try {
      reports.push(...(await runPassChecks({ seed, graphs, backends: requested.backends }, container, () => undefined)));
    } finally {
      if (container === defaultContainer) await disposeBackends(container);
    }
  }
  const seconds = (performance.now() - t0) / 1000;

  log(resultsTable(reports));
  if (backends.length > 1) log(agreementTable(backends, cells));
  if (!suite.strict) for (const line of likelyWarnings(reports)) log(line);
  for (const r of reports)
    for (const p of r.properties)
      if (p.failure) log(`\n${p.failure.message}\n  reproduction: ${reproFiles[`${r.backend}/${p.property}`]} (tessera conformance --replay <file>)`);
  const cases = reports.reduce((s, r) => s + r.casesRun, 0);
  // A run that checked nothing proves nothing: it does not pass.
  const ok = cases > 0 && reports.every((r) => r.ok);
  log(`\n${ok ? 'PASS' : 'FAIL'}: ${reports.reduce((s, r) => s + r.passed, 0)}/${cases} cases passed on ${backends.join(', ')} in ${seconds.toFixed(1)} s (seed ${seed})`);
  if (opts.json) {
    await writeFile(opts.json, `${JSON.stringify(jsonReport(suite, ok, seconds, reports, reproFiles, cells), null, 2)}\n`);
    log(`report written to ${opts.json}`);
  }
  return ok ? 0 : 1;
}

/** What the suite runs, from the command's options (validated). */
interface SuiteOptions {
  readonly backends: string[];
  readonly seed: number;
  readonly runs: number;
  readonly graphs: number;
  readonly boundIO: number;
  readonly ops: string[];
  readonly special: SpecialProperty[];
  /** Checks each case's reference first (on the first backend only: the reference is the same for all). */
  readonly oracle?: Oracle;
  /** Errors beyond the likely bound fail (--strict). */
  readonly strict: boolean;
}

function suiteOptions(opts: ConformanceCliOptions): SuiteOptions {
  const backends = resolveBackends(list(opts.backends) ?? ['cpu'], opts.browser ?? false);
  if (backends.length === 0) throw new Error('--backends names no backend');
  const seed = opts.seed !== undefined ? intFlag('--seed', opts.seed, { min: 0, max: MAX_SEED }) : freshSeed();
  const runs = count(opts.runs, '--runs', 100);
  const graphs = count(opts.graphs, '--graphs', 100);
  const boundIO = count(opts.boundIo, '--bound-io', defaultBoundIOGraphs(graphs));
  const ops = list(opts.ops) ?? [...OP_NAMES_UNDER_TEST];
  for (const op of ops) if (!(OP_NAMES_UNDER_TEST as readonly string[]).includes(op)) throw new Error(`--ops: unknown op '${op}' (ops under test: ${OP_NAMES_UNDER_TEST.join(', ')})`);
  const special = (list(opts.special) ?? [...SPECIAL_PROPERTIES]) as SpecialProperty[];
  for (const s of special) if (!SPECIAL_PROPERTIES.includes(s)) throw new Error(`--special: unknown property '${s}' (known: ${SPECIAL_PROPERTIES.join(', ')})`);
  if (casesPerBackend({ runs, graphs, boundIO, ops, special }) === 0) {
    throw new Error(`nothing to check: --ops ${opts.ops ?? '(all)'}, --runs ${runs}, --graphs ${graphs}, --bound-io ${boundIO}, --special ${opts.special ?? '(all)'} select no case`);
  }
  return { backends, seed, runs, graphs, boundIO, ops, special, strict: opts.strict ?? false };
}

/** The cases the suite runs on one backend (the special properties run only with an op or graph property). */
function casesPerBackend({ runs, graphs, boundIO, ops, special }: Omit<SuiteOptions, 'backends' | 'seed' | 'strict'>): number {
  const propertyCount = ops.length + (graphs > 0 ? 1 : 0);
  return ops.length * runs + graphs + boundIO + (propertyCount > 0 ? special.length * runs : 0);
}

/** Runs the suite on every backend in turn (with a progress bar on a terminal), writing a reproduction file per failure. */
async function runSuites(suite: SuiteOptions, opts: ConformanceCliOptions, container: Container) {
  const { backends } = suite;
  const perBackend = casesPerBackend(suite);
  const showBar = opts.progress !== false && process.stderr.isTTY === true;
  const progress = showBar ? (createRequire(import.meta.url)('cli-progress') as CliProgress) : undefined;
  const bar = progress ? new progress.SingleBar({ format: ' {bar} {value}/{total} cases | {backend} {property} | failures {failures}', hideCursor: true, clearOnComplete: true }, progress.Presets.shades_classic) : undefined;
  bar?.start(perBackend * backends.length, 0, { backend: backends[0], property: '', failures: 0 });

  const agreement = new AgreementCollector();
  const reports: ConformanceReport[] = [];
  const reproFiles: Record<string, string> = {};
  const tally = { failures: 0 };
  try {
    for (const backend of backends) {
      const { report, done } = await runBackend(backend, suite, container, agreement, bar, tally);
      // A failing property stops early: count its remaining cases as done.
      bar?.increment(perBackend - done, { backend, property: 'done', failures: tally.failures });
      reports.push(report);
      for (const p of report.properties) {
        if (p.failure) reproFiles[`${backend}/${p.property}`] = await writeRepro(p.failure, { dir: opts.failuresDir ?? REPRO_DIR });
      }
    }
  } finally {
    bar?.stop();
    if (container === defaultContainer) await disposeBackends(container);
  }
  return { reports, reproFiles, cells: agreement.matrix() };
}

/** One backend's run of the suite: its report and how many cases it started. */
function runBackend(
  backend: string,
  suite: SuiteOptions,
  container: Container,
  agreement: AgreementCollector,
  bar: ProgressBar | undefined,
  tally: { failures: number },
): Promise<{ report: ConformanceReport; done: number }> {
  const { seed, runs, graphs, boundIO, ops, special, strict } = suite;
  const oracle = backend === suite.backends[0] ? suite.oracle : undefined;
  let done = 0;
  return new Promise((resolve, reject) => {
    let last: ConformanceReport | undefined;
    runConformance({ backend, container, seed, runs, graphs, boundIO, ops, special, oracle, strict, onCase: agreement.onCase(backend) }).subscribe({
      next: (e) => {
        if (e.type === 'case-start') {
          done++;
          bar?.increment(1, { backend, property: e.property, failures: tally.failures });
        } else if (e.type === 'case-fail') {
          tally.failures++;
          bar?.increment(0, { backend, property: e.property, failures: tally.failures });
        } else if (e.type === 'done') last = e.report;
      },
      error: reject,
      complete: () => (last ? resolve({ report: last, done }) : reject(new Error(`conformance run of '${backend}' ended without a report`))),
    });
  });
}

/** The report as JSON (`--json`). */
function jsonReport(suite: SuiteOptions, ok: boolean, seconds: number, reports: readonly ConformanceReport[], reproFiles: Readonly<Record<string, string>>, cells: readonly AgreementCell[]) {
  const { seed, backends, runs, graphs, boundIO, ops, special, strict } = suite;
  return {
    seed,
    ok,
    seconds,
    options: { backends, runs, graphs, boundIO, ops, special, strict },
    reports: reports.map((r) => ({
      backend: r.backend,
      ok: r.ok,
      casesRun: r.casesRun,
      passed: r.passed,
      worstRatio: jsonNumber(r.worstRatio),
      likely: jsonLikely(r.likely),
      durationMs: r.durationMs,
      properties: r.properties.map((p) => ({
        property: p.property,
        casesRun: p.casesRun,
        passed: p.passed,
        worstRatio: jsonNumber(p.worstRatio),
        likely: jsonLikely(p.likely),
        durationMs: p.durationMs,
        ...(p.failure
          ? { failure: { summary: p.failure.outcome.summary, seed: p.failure.seed, path: p.failure.path, shrinks: p.failure.shrinks, graph: p.failure.graph, repro: reproFiles[`${r.backend}/${p.property}`] } }
          : {}),
      })),
    })),
    agreement: cells.map((c) => ({ ...c, worstRatio: jsonNumber(c.worstRatio) })),
  };
}

/** JSON has no Infinity: a ratio that cannot be expressed (a NaN where a number was due) is written as a string. */
const jsonNumber = (x: number): number | string => (Number.isFinite(x) ? x : String(x));
const jsonLikely = (l: LikelyReport) => ({ worstRatio: jsonNumber(l.worstRatio), casesBeyond: l.casesBeyond });

/** The cases beyond the likely bound, per backend and property: a warning each (a failure with --strict). */
function likelyWarnings(reports: readonly ConformanceReport[]): string[] {
  return reports.flatMap((r) =>
    r.properties
      .filter((p) => p.likely.casesBeyond > 0)
      .map((p) => `warning: ${r.backend} ${p.property}: ${p.likely.casesBeyond} case(s) beyond the likely bound (worst ${formatRatio(p.likely.worstRatio)} of it; correct float32 errors rarely get there; --strict fails them)`),
  );
}

function resultsTable(reports: readonly ConformanceReport[]): string {
  const table = cliTable(['backend', 'property', 'cases', 'passed', 'worst error / bound', 'error / likely', 'time (s)', '']);
  for (const r of reports) {
    for (const p of r.properties) {
      table.push([r.backend, p.property, p.casesRun, p.passed, formatRatio(p.worstRatio), formatRatio(p.likely.worstRatio), (p.durationMs / 1000).toFixed(2), p.failure ? 'FAIL' : 'ok']);
    }
  }
  return table.toString();
}

function agreementTable(backends: readonly string[], cells: readonly AgreementCell[]): string {
  const table = cliTable(['agreement: worst |a - b| / (bound_a + bound_b)', ...backends]);
  for (const a of backends) {
    table.push([
      a,
      ...backends.map((b) => {
        if (a === b) return '-';
        const cell = cells.find((c) => (c.a === a && c.b === b) || (c.a === b && c.b === a));
        return cell ? `${formatRatio(cell.worstRatio)} (${cell.cases} cases)` : 'n/a';
      }),
    ]);
  }
  const worst = cells.filter((c) => c.worstAt).sort((x, y) => y.worstRatio - x.worstRatio)[0];
  const where = worst?.worstAt ? `\nworst pair ${worst.a} / ${worst.b}: ${worst.worstAt.property} case ${worst.worstAt.index}, output '${worst.worstAt.output}' element ${worst.worstAt.element}` : '';
  return `${table.toString()}${where}`;
}

async function replay(opts: ConformanceCliOptions, container: Container, env: ConformanceCliEnv, log: (line: string) => void): Promise<number> {
  const repro = await readRepro(opts.replay!);
  const backends = resolveBackends(list(opts.backends) ?? [repro.backend], opts.browser ?? false);
  registerBuiltinVariants(container, builtinVariants(opts));
  ensureBackends(backends.filter((b) => !b.startsWith('pass:')), container);
  const transforms = env.transforms ?? { ...Object.fromEntries(passSubjects().map((t) => [t.name, t])), [convFusion.name]: convFusion, [bottleneckFactorization.name]: bottleneckFactorization };
  log(`replaying ${opts.replay}: property ${repro.property}, recorded on '${repro.backend}' (seed ${repro.seed}, path ${repro.path})`);
  log(`  recorded: ${repro.summary}`);
  let results;
  try {
    results = await replayRepro(repro, { backends, container, transforms });
  } finally {
    if (container === defaultContainer) await disposeBackends(container);
  }
  const table = cliTable(['backend', 'result', 'same failure as recorded', 'outcome']);
  for (const r of results) {
    table.push([r.backend, r.ok ? 'pass' : 'FAIL', r.ok ? '-' : r.reproduced ? 'yes' : 'no', r.outcome.summary.length > 140 ? `${r.outcome.summary.slice(0, 137)}...` : r.outcome.summary]);
  }
  log(table.toString());
  if (results.some((r) => r.referenceChanged)) log('note: the float64 reference now differs from the one recorded in the file');
  return results.every((r) => r.ok) ? 0 : 1;
}

