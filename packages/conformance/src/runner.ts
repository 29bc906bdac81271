import type { Graph } from '@tessera/core';
import type { SessionOptions } from '@tessera/runtime';
import fc from 'fast-check';
import { Observable, lastValueFrom, filter, map } from 'rxjs';
import { OP_NAMES_UNDER_TEST, graphArbitrary, opCaseArbitrary, type ConformanceCase } from './arbitraries.js';
import { checkCase, errorMessage, failedOutcome, type CaseOutcome, type ReferenceFn } from './check-case.js';
import type { Oracle } from './oracle.js';
import { passGraphArbitrary } from './pass-graphs.js';
import { formatRatio } from './compare.js';
import { SPECIAL_PROPERTIES, extremeArbitrary, nonFiniteArbitrary, type SpecialProperty } from './special.js';

/** Name of the random-graph property in events and reports. */
export const GRAPHS_PROPERTY = 'graphs';
/** Name of the property of graphs shaped for passes (pass-graphs.ts): patterns and already-fused nodes. */
export const PASS_GRAPHS_PROPERTY = 'pass-graphs';
/** Name of the property that runs random graphs through bound inputs and outputs (`bindIO`). */
export const BOUND_IO_PROPERTY = 'bound-io';

export interface ConformanceOptions {
  /** Backend name, as registered in the container. */
  readonly backend: string;
  /** Container holding the backend; default the runtime's default container. */
  readonly container?: SessionOptions['container'];
  /** Cases per op. Default 100. */
  readonly runs?: number;
  /** Random graphs. Default 100; 0 skips the graph property. */
  readonly graphs?: number;
  /**
   * Graphs shaped for passes (`passGraphArbitrary`: rewrite patterns, fused nodes with every
   * relu flag before a 1x1 conv). Default 0 (the pass suite defaults it to `graphs`).
   */
  readonly passGraphs?: number;
  /**
   * Random graphs run through a session with bound inputs and outputs (`bindIO`: the feeds
   * written once into `session.io`, two runs, the outputs read from `session.io`), which checks
   * a backend's `Executable.ioBuffers`. Default: `graphs`, at most 25; 0 skips it (and so does a
   * replay by `path` without `only`). Never run with a custom `check`.
   */
  readonly boundIO?: number;
  /** fast-check seed, used for every property. Default: a fresh one, reported. */
  readonly seed?: number;
  /** Ops to check (default OP_NAMES_UNDER_TEST); [] checks only random graphs. */
  readonly ops?: readonly string[];
  /**
   * Replays one recorded failure: the `path` of a report's failure. Needs the same seed, and
   * exactly one property selected (one op in `ops` and `graphs: 0`, or `ops: []`).
   */
  readonly path?: string;
  /** Per-case time limit in ms (a slower case fails). Default none. */
  readonly timeoutMs?: number;
  /**
   * The non-finite / extreme-magnitude properties to run after the others (default both,
   * `SPECIAL_PROPERTIES`). Each draws its cases from the selected ops (and random graphs when
   * `graphs` > 0), `runs` cases each. [] skips them.
   */
  readonly special?: readonly SpecialProperty[];
  /**
   * Runs only the property of this name (an op, 'graphs', 'nonfinite' or 'extreme') among those
   * the other options select; with `path`, this is how a special property's failure is replayed.
   */
  readonly only?: string;
  /**
   * Replaces how one case is checked (default `checkCase` on the backend). The pass checker
   * (`checkTransformCase`) uses it; `backend` then only names the subject in reports.
   */
  readonly check?: (c: ConformanceCase) => Promise<CaseOutcome>;
  /**
   * Called with every generated case's outcome (not with shrink steps): what the agreement
   * matrix between backends is computed from (same seed, same cases).
   */
  readonly onCase?: (property: string, index: number, c: ConformanceCase, outcome: CaseOutcome) => void;
  /** The reference every case is compared with (default core's `evaluate`; tests pass a faulty one). */
  readonly reference?: ReferenceFn;
  /** Also checks each case's reference against this independent oracle (`tfjsOracle()`). */
  readonly oracle?: Oracle;
  /**
   * An error beyond the reference's likely (probabilistic) bound fails the case. Default false:
   * such cases pass and are counted in the report (`likely`), a warning.
   */
  readonly strict?: boolean;
}

/** Errors against the likely (probabilistic) bound over a property's or a run's cases. */
export interface LikelyReport {
  /** Worst |actual - ref| / likely bound over every case (1 = exactly at it). */
  readonly worstRatio: number;
  /** Cases with at least one element beyond it (a warning; a failure when strict). */
  readonly casesBeyond: number;
}

/** The shrunk failing case of a property, with what is needed to replay it. */
export interface ConformanceFailure {
  readonly property: string;
  readonly backend: string;
  /** The graph in text form (`graph.toString()`). */
  readonly graph: string;
  readonly graphObject: Graph;
  readonly feeds: Readonly<Record<string, Float32Array>>;
  readonly outcome: CaseOutcome;
  /** fast-check seed and path: `runConformance({ backend, seed, path, ... })` replays it. */
  readonly seed: number;
  readonly path: string;
  /** Shrink steps fast-check took from the first failing case to this one. */
  readonly shrinks: number;
  /** A complete multi-line description (property, outcome, replay options, graph, feeds). */
  readonly message: string;
}

export interface PropertyReport {
  /** An op name, or 'graphs'. */
  readonly property: string;
  /** Cases generated and run (shrink steps not counted). */
  readonly casesRun: number;
  readonly passed: number;
  /** Worst error over all cases run, as a fraction of its bound (1 = exactly at the bound). */
  readonly worstRatio: number;
  /** Against the likely bound, over the cases whose reference states one. */
  readonly likely: LikelyReport;
  readonly durationMs: number;
  readonly failure?: ConformanceFailure;
}

export interface ConformanceReport {
  readonly backend: string;
  /** The seed used (given or drawn): pass it back as `seed` to replay the whole run. */
  readonly seed: number;
  readonly ok: boolean;
  readonly properties: readonly PropertyReport[];
  readonly casesRun: number;
  readonly passed: number;
  readonly worstRatio: number;
  readonly likely: LikelyReport;
  readonly durationMs: number;
}

/**
 * Progress of a conformance run. `case-start` / `case-pass` are emitted for every generated
 * case; when a case fails, fast-check shrinks it (the shrink steps emit nothing) and a single
 * `case-fail` carries the shrunk counterexample. Then `property-done`, and after every
 * property `done` with the report.
 */
export type ConformanceEvent =
  | { readonly type: 'start'; readonly backend: string; readonly seed: number; readonly properties: readonly string[] }
  | { readonly type: 'case-start'; readonly property: string; readonly index: number }
  | { readonly type: 'case-pass'; readonly property: string; readonly index: number; readonly worstRatio: number; readonly durationMs: number }
  | { readonly type: 'case-fail'; readonly property: string; readonly failure: ConformanceFailure }
  | { readonly type: 'property-done'; readonly property: string; readonly result: PropertyReport }
  | { readonly type: 'done'; readonly report: ConformanceReport };

/** A fresh 31-bit seed. */
export function freshSeed(): number {
  return Math.floor(Math.random() * 0x7fffffff);
}

/**
 * Checks a backend against the float64 reference: for each op, `runs` one-op cases, then
 * `graphs` random graphs, each a fast-check property run with `seed`. Every case compiles a
 * session on the backend, runs the feeds, compares every output element with its reference
 * bound (`compareToReference`) and disposes the session, pass or fail. A failure is shrunk
 * and reported with its graph, feeds, seed and path. Cold: each subscription runs the suite;
 * unsubscribing stops it after the current case.
 */
export function runConformance(options: ConformanceOptions): Observable<ConformanceEvent> {
  return new Observable<ConformanceEvent>((subscriber) => {
    let cancelled = false;
    const emit = (e: ConformanceEvent) => {
      if (!cancelled) subscriber.next(e);
    };
    runAll(options, emit, () => cancelled).then(
      () => subscriber.complete(),
      (e) => subscriber.error(e),
    );
    return () => {
      cancelled = true;
    };
  });
}

/** Runs the suite and resolves with its report (a failing backend resolves too: see `report.ok`). */
export function runConformanceToReport(options: ConformanceOptions): Promise<ConformanceReport> {
  return lastValueFrom(
    runConformance(options).pipe(
      filter((e): e is Extract<ConformanceEvent, { type: 'done' }> => e.type === 'done'),
      map((e) => e.report),
    ),
  );
}

/** A replay by `path` alone keeps its pre-`special` meaning: the one selected op or graph property, nothing added. */
const replayByPath = (options: Omit<ConformanceOptions, 'backend'>): boolean => options.path !== undefined && options.only === undefined;

/** Random graphs the bound-IO property checks by default: as many as the graph property, at most 25. */
export const defaultBoundIOGraphs = (graphs: number): number => Math.min(graphs, 25);

/**
 * Cases of the bound-IO property a run with these options makes: `boundIO`, by default
 * `defaultBoundIOGraphs(graphs)`; none with a custom `check` or for a replay by `path` alone.
 */
export function boundIOGraphs(options: Omit<ConformanceOptions, 'backend'>): number {
  if (options.check) return 0;
  if (options.boundIO !== undefined) return options.boundIO;
  return replayByPath(options) ? 0 : defaultBoundIOGraphs(options.graphs ?? 100);
}

async function runAll(options: ConformanceOptions, emit: (e: ConformanceEvent) => void, cancelled: () => boolean): Promise<void> {
  const seed = options.seed ?? freshSeed();
  const runs = options.runs ?? 100;
  const graphs = options.graphs ?? 100;
  const ops = options.ops ?? OP_NAMES_UNDER_TEST;
  const special = options.special ?? (replayByPath(options) ? [] : SPECIAL_PROPERTIES);
  const boundIO = boundIOGraphs(options);
  const sources = [...ops.map((op) => opCaseArbitrary(op)), ...(graphs > 0 ? [graphArbitrary()] : [])];
  const plain = options.check ?? ((c: ConformanceCase) => checkCase(c, options));
  const all: { name: string; arb: fc.Arbitrary<ConformanceCase>; numRuns: number; check: (c: ConformanceCase) => Promise<CaseOutcome> }[] = [
    ...ops.map((op) => ({ name: op, arb: opCaseArbitrary(op), numRuns: runs, check: plain })),
    ...(graphs > 0 ? [{ name: GRAPHS_PROPERTY, arb: graphArbitrary(), numRuns: graphs, check: plain }] : []),
    ...((options.passGraphs ?? 0) > 0 ? [{ name: PASS_GRAPHS_PROPERTY, arb: passGraphArbitrary(), numRuns: options.passGraphs!, check: plain }] : []),
    ...(boundIO > 0 ? [{ name: BOUND_IO_PROPERTY, arb: graphArbitrary(), numRuns: boundIO, check: (c: ConformanceCase) => checkCase(c, { ...options, bindIO: true }) }] : []),
    ...(sources.length > 0
      ? special.map((name) => {
          if (!SPECIAL_PROPERTIES.includes(name)) throw new Error(`unknown special property '${name}' (known: ${SPECIAL_PROPERTIES.join(', ')})`);
          const base = fc.oneof(...sources);
          return { name, arb: name === 'nonfinite' ? nonFiniteArbitrary(base) : extremeArbitrary(base), numRuns: runs, check: plain };
        })
      : []),
  ];
  const properties = options.only === undefined ? all : all.filter((p) => p.name === options.only);
  if (options.only !== undefined && properties.length === 0) {
    throw new Error(`'only: ${options.only}' names none of the selected properties (${all.map((p) => p.name).join(', ')})`);
  }
  if (options.path !== undefined && properties.length !== 1) {
    throw new Error(`'path' replays one property, but ${properties.length} are selected (${properties.map((p) => p.name).join(', ')})`);
  }
  const t0 = performance.now();
  emit({ type: 'start', backend: options.backend, seed, properties: properties.map((p) => p.name) });
  const results: PropertyReport[] = [];
  for (const p of properties) {
    if (cancelled()) return;
    const result = await runProperty(p.name, p.arb, p.numRuns, p.check, seed, options, emit, cancelled);
    results.push(result);
    emit({ type: 'property-done', property: p.name, result });
  }
  const report: ConformanceReport = {
    backend: options.backend,
    seed,
    ok: results.every((r) => !r.failure),
    properties: results,
    casesRun: results.reduce((s, r) => s + r.casesRun, 0),
    passed: results.reduce((s, r) => s + r.passed, 0),
    worstRatio: results.reduce((m, r) => Math.max(m, r.worstRatio), 0),
    likely: {
      worstRatio: results.reduce((m, r) => Math.max(m, r.likely.worstRatio), 0),
      casesBeyond: results.reduce((s, r) => s + r.likely.casesBeyond, 0),
    },
    durationMs: performance.now() - t0,
  };
  emit({ type: 'done', report });
}

async function runProperty(
  property: string,
  arb: fc.Arbitrary<ConformanceCase>,
  numRuns: number,
  check: (c: ConformanceCase) => Promise<CaseOutcome>,
  seed: number,
  options: ConformanceOptions,
  emit: (e: ConformanceEvent) => void,
  cancelled: () => boolean,
): Promise<PropertyReport> {
  const t0 = performance.now();
  let casesRun = 0;
  let passed = 0;
  let worstRatio = 0;
  let likelyWorst = 0;
  let casesBeyond = 0;
  let failing = false; // after the first failure, every run is a shrink step
  const outcomes = new WeakMap<ConformanceCase, CaseOutcome>();
  let lastOutcome: CaseOutcome | undefined;

  const prop = fc.asyncProperty(arb, async (c) => {
    if (cancelled()) return;
    const index = casesRun;
    if (!failing) {
      casesRun++;
      emit({ type: 'case-start', property, index });
    }
    const start = performance.now();
    const outcome = await check(c);
    if (!failing) {
      worstRatio = Math.max(worstRatio, outcome.worstRatio);
      likelyWorst = Math.max(likelyWorst, outcome.likely?.worstRatio ?? 0);
      if ((outcome.likely?.beyond ?? 0) > 0) casesBeyond++;
      options.onCase?.(property, index, c, outcome);
    }
    if (outcome.ok) {
      if (!failing) {
        passed++;
        emit({ type: 'case-pass', property, index, worstRatio: outcome.worstRatio, durationMs: performance.now() - start });
      }
      return;
    }
    failing = true;
    outcomes.set(c, outcome);
    lastOutcome = outcome;
    throw new ConformanceMismatch(outcome.summary);
  });

  const details = await fc.check(prop, {
    seed,
    numRuns,
    ...(options.path !== undefined ? { path: options.path } : {}),
    ...(options.timeoutMs !== undefined ? { timeout: options.timeoutMs } : {}),
  });

  let failure: ConformanceFailure | undefined;
  if (details.failed && details.counterexample) {
    const [c] = details.counterexample;
    const outcome =
      outcomes.get(c) ??
      (details.errorInstance instanceof ConformanceMismatch ? lastOutcome : undefined) ??
      failedOutcome('run', errorMessage(details.errorInstance));
    failure = makeFailure(property, options.backend, c, outcome, details.seed, details.counterexamplePath ?? '', details.numShrinks, options);
    emit({ type: 'case-fail', property, failure });
  } else if (details.failed) {
    // Failed without a counterexample: fast-check itself gave up (e.g. interrupted).
    const message = errorMessage(details.errorInstance) || 'fast-check stopped without a counterexample';
    throw new Error(`conformance property '${property}' on backend '${options.backend}' could not run: ${message}`);
  }
  return { property, casesRun, passed, worstRatio, likely: { worstRatio: likelyWorst, casesBeyond }, durationMs: performance.now() - t0, ...(failure ? { failure } : {}) };
}

class ConformanceMismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConformanceMismatch';
  }
}

function makeFailure(
  property: string,
  backend: string,
  c: ConformanceCase,
  outcome: CaseOutcome,
  seed: number,
  path: string,
  shrinks: number,
  options: ConformanceOptions,
): ConformanceFailure {
  const special = (SPECIAL_PROPERTIES as readonly string[]).includes(property);
  const replay = special
    ? `ops: ${JSON.stringify(options.ops ?? OP_NAMES_UNDER_TEST).replace(/"/g, "'")}, graphs: ${options.graphs ?? 100}, runs: ${options.runs ?? 100}, special: ['${property}'], only: '${property}'`
    : property === GRAPHS_PROPERTY
      ? `ops: [], graphs: ${options.graphs ?? 100}, special: []`
      : `ops: ['${property}'], graphs: 0, runs: ${options.runs ?? 100}, special: []`;
  const graph = c.graph.toString();
  const message = [
    `backend '${backend}' disagrees with the float64 reference on ${property === GRAPHS_PROPERTY ? 'a random graph' : `op ${property}`} (shrunk in ${shrinks} steps)`,
    `  ${outcome.summary}`,
    `  replay: runConformance({ backend: '${backend}', seed: ${seed}, path: '${path}', ${replay} })`,
    graph.replace(/^/gm, '  '),
    ...Object.entries(c.feeds).map(([name, data]) => `  feed %${name} = ${formatData(data)}`),
    ...[...c.graph.constants].map(([name, t]) => `  const %${name} = ${formatData(t.data)}`),
  ].join('\n');
  return { property, backend, graph, graphObject: c.graph, feeds: c.feeds, outcome, seed, path, shrinks, message };
}

/** Values of a tensor for a message: all of them up to 48, else the first 48 and a count. */
function formatData(data: Float32Array): string {
  const shown = Array.from(data.subarray(0, 48), (v) => String(v)).join(', ');
  return data.length > 48 ? `[${shown}, ... (${data.length} values)]` : `[${shown}]`;
}

/** A plain-text table of a report: one line per property. */
export function formatReport(report: ConformanceReport): string {
  const lines = [`conformance of backend '${report.backend}' (seed ${report.seed}): ${report.ok ? 'PASS' : 'FAIL'}, ${report.passed}/${report.casesRun} cases, ${(report.durationMs / 1000).toFixed(1)} s`];
  for (const p of report.properties) {
    lines.push(
      `  ${p.property.padEnd(14)} ${String(p.passed).padStart(5)}/${String(p.casesRun).padEnd(5)} worst ${formatRatio(p.worstRatio).padStart(9)} of bound  ${(p.durationMs / 1000).toFixed(2)} s${p.failure ? '  FAILED' : ''}`,
    );
  }
  for (const p of report.properties) if (p.failure) lines.push('', p.failure.message);
  return lines.join('\n');
}
