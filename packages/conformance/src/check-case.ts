import { evaluate, algorithmWiden, type EvaluateOptions, type Feeds, type Graph, type LikelyComparison, type RefTensor } from '@tessera/core';
import { createSession, type Session, type SessionOptions } from '@tessera/runtime';
import type { ConformanceCase } from './case.js';
import { compareToReference, describeComparison, formatRatio, type Comparison } from './compare.js';
import { checkAgainstOracle, type Oracle } from './oracle.js';

/**
 * Computes a graph's reference outputs: core's `evaluate`, or a replacement (a test's faulty one).
 * `options.widen` widens the bounds of the nodes the backend ran with another algorithm (Winograd).
 */
export type ReferenceFn = (graph: Graph, feeds: Feeds, options?: EvaluateOptions) => Record<string, RefTensor>;

/** How one case is checked on a backend. */
export interface CheckOptions {
  readonly backend: string;
  readonly container?: SessionOptions['container'];
  readonly bindIO?: boolean;
  /** The reference (default core's `evaluate`). */
  readonly reference?: ReferenceFn;
  /** An independent oracle the reference itself is checked against first (`tfjsOracle()`). */
  readonly oracle?: Oracle;
  /** An error beyond the reference's likely (probabilistic) bound fails the case, not just a warning. */
  readonly strict?: boolean;
}

/*
 * One case on one backend: run it, compare every output with the float64 reference, and say
 * what went wrong. The suite (runner.ts) draws the cases and shrinks the failures.
 */

/** What went wrong in one case: an output out of bound, or an error from the backend. */
export interface CaseOutcome {
  readonly ok: boolean;
  /** Worst |actual - ref| / bound over every output (Infinity for an error). */
  readonly worstRatio: number;
  /** Per graph output, the comparison (absent for outputs not reached because of an error). */
  readonly outputs: Readonly<Record<string, Comparison>>;
  /** The first failing output, if any. */
  readonly failingOutput?: string;
  /** An exception from compiling, running or disposing, with the stage it came from. */
  readonly error?: { readonly stage: 'reference' | 'compile' | 'run' | 'dispose' | 'outputs'; readonly message: string };
  /** One line saying what failed. */
  readonly summary: string;
  /** What the backend returned (absent after an error before its outputs). */
  readonly actual?: Readonly<Record<string, Float32Array>>;
  /** The reference the outputs were compared with. */
  readonly reference?: Readonly<Record<string, RefTensor>>;
  /** Over every output that states a likely bound: the worst ratio and the elements beyond it. */
  readonly likely?: LikelyComparison;
}

/**
 * Runs one case on a backend and compares every output with the reference. Never throws:
 * errors of the backend (or of the reference) become a failed outcome. The session is disposed in every case.
 * With `bindIO`, the session binds its inputs and outputs: the feeds are written once into
 * `session.io`, the case runs twice, and each run's outputs must be the `session.io` arrays
 * and agree with the reference (bound inputs must survive a run).
 */
export async function checkCase(c: ConformanceCase, options: CheckOptions): Promise<CaseOutcome> {
  // The backend gets copies: the recorded case must stay as generated even if a backend writes to its feeds.
  const feeds = Object.fromEntries(Object.entries(c.feeds).map(([k, v]) => [k, v.slice()]));
  let session: Session | undefined;
  try {
    session = await createSession(c.graph, { backend: options.backend, container: options.container, bindIO: options.bindIO });
  } catch (e) {
    // The reference first: a case it rejects is a bad case (or a reference bug), not the backend's fault.
    try {
      (options.reference ?? evaluate)(c.graph, c.feeds);
    } catch (r) {
      return failedOutcome('reference', errorMessage(r));
    }
    return failedOutcome('compile', errorMessage(e));
  }
  const outcome = await checkSession(c, session, feeds, options);
  try {
    session.dispose();
  } catch (e) {
    if (outcome.ok) return failedOutcome('dispose', errorMessage(e));
  }
  return options.strict ? strictOutcome(outcome) : outcome;
}

/**
 * The reference (each node the backend ran with another algorithm judged by its wider bound: core's
 * `algorithmWiden`; every other node by the direct one), then the runs against it.
 */
async function checkSession(c: ConformanceCase, session: Session, feeds: Feeds, options: CheckOptions): Promise<CaseOutcome> {
  let ref: Record<string, RefTensor>;
  try {
    const widen = algorithmWiden(session.stats.algorithms);
    ref = (options.reference ?? evaluate)(c.graph, c.feeds, widen ? { widen } : {});
  } catch (e) {
    return failedOutcome('reference', errorMessage(e)); // a bad case or a reference bug, not the backend's fault
  }
  if (options.oracle) {
    const wrongReference = await checkAgainstOracle(options.oracle, c.graph, c.feeds, ref);
    if (wrongReference) return wrongReference;
  }
  try {
    return options.bindIO ? await runBound(c.graph, session, feeds, ref) : await runPlain(c.graph, session, feeds, ref);
  } catch (e) {
    return failedOutcome('run', errorMessage(e));
  }
}

/** A passing outcome with errors beyond the likely bound, failed (`--strict`). */
function strictOutcome(outcome: CaseOutcome): CaseOutcome {
  if (!outcome.ok || !outcome.likely || outcome.likely.beyond === 0) return outcome;
  const name = Object.keys(outcome.outputs).find((k) => (outcome.outputs[k].likely?.beyond ?? 0) > 0);
  const { beyond, worstRatio } = outcome.likely;
  return {
    ...outcome,
    ok: false,
    ...(name !== undefined ? { failingOutput: name } : {}),
    summary: `${beyond} element(s) of output '${name}' beyond the likely bound (worst ${formatRatio(worstRatio)} of it; strict)`,
  };
}

async function runPlain(graph: Graph, session: Session, feeds: Feeds, ref: Record<string, RefTensor>): Promise<CaseOutcome> {
  const actual = await session.run(feeds);
  return { ...compareOutputs(graph, actual, ref), actual, reference: ref };
}

async function runBound(graph: Graph, session: Session, feeds: Feeds, ref: Record<string, RefTensor>): Promise<CaseOutcome> {
  const { inputs, outputs } = session.io;
  for (const [name, data] of Object.entries(feeds)) inputs[name].set(data);
  let outcome: CaseOutcome | undefined;
  for (const run of ['first', 'second']) {
    const actual = await session.run(inputs, { outputs });
    const elsewhere = Object.keys(graph.outputs).find((name) => actual[name] !== outputs[name]);
    if (elsewhere !== undefined) return failedOutcome('outputs', `bound IO, ${run} run: output '${elsewhere}' was not returned in its session.io array`);
    outcome = { ...compareOutputs(graph, actual, ref), actual, reference: ref };
    if (!outcome.ok) return { ...outcome, summary: `bound IO, ${run} run (inputs written once): ${outcome.summary}` };
  }
  return outcome!;
}

/** Compares a run's outputs (by graph output name) with the reference outputs. */
export function compareOutputs(graph: Graph, actual: Readonly<Record<string, unknown>>, ref: Readonly<Record<string, RefTensor>>): CaseOutcome {
  const outputs: Record<string, Comparison> = {};
  let worstRatio = 0;
  let likely: LikelyComparison | undefined;
  let failingOutput: string | undefined;
  for (const name of Object.keys(graph.outputs)) {
    const a = actual?.[name];
    if (!(a instanceof Float32Array)) {
      const got = a === undefined ? 'nothing' : Object.prototype.toString.call(a).slice(8, -1);
      return { ...failedOutcome('outputs', `output '${name}' should be a Float32Array, got ${got}`), outputs };
    }
    const cmp = compareToReference(a, ref[name]);
    outputs[name] = cmp;
    worstRatio = Math.max(worstRatio, cmp.worstRatio);
    if (cmp.likely) likely = mergeLikely(likely, cmp.likely);
    if (!cmp.ok && failingOutput === undefined) failingOutput = name;
  }
  if (failingOutput === undefined) {
    return { ok: true, worstRatio, outputs, ...(likely ? { likely } : {}), summary: `ok (worst error ${formatRatio(worstRatio)} of its bound)` };
  }
  const shape = ref[failingOutput].shape;
  return {
    ok: false,
    worstRatio,
    outputs,
    failingOutput,
    summary: `output '${failingOutput}' [${shape.join(',')}]: ${describeComparison(outputs[failingOutput], shape)}`,
  };
}

/** Two likely comparisons as one: the worse ratio, the elements beyond added. */
export function mergeLikely(a: LikelyComparison | undefined, b: LikelyComparison): LikelyComparison {
  return a ? { worstRatio: Math.max(a.worstRatio, b.worstRatio), beyond: a.beyond + b.beyond } : b;
}

export function failedOutcome(stage: NonNullable<CaseOutcome['error']>['stage'], message: string): CaseOutcome {
  return { ok: false, worstRatio: Infinity, outputs: {}, error: { stage, message }, summary: `${stage} failed: ${message}` };
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  return e === null || e === undefined ? '' : String(e);
}
