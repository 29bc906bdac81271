import { compareReferences, evaluate, type Graph, type RefTensor } from '@tessera/core';
import type { ConformanceCase } from './arbitraries.js';
import { describeComparison, formatRatio, type Comparison } from './compare.js';
import { checkCase, errorMessage, failedOutcome, type CaseOutcome } from './check-case.js';
import type { SessionOptions } from '@tessera/runtime';
import { runConformance, runConformanceToReport, type ConformanceEvent, type ConformanceOptions, type ConformanceReport } from './runner.js';
import type { Observable } from 'rxjs';

/**
 * A graph-to-graph rewrite: structurally what @tessera/passes calls a Pass (a name and
 * `run(graph, options) -> { graph }`), so this package needs no dependency on the passes.
 */
export interface GraphTransform {
  readonly name: string;
  run(graph: Graph, options: Record<string, unknown>): { readonly graph: Graph };
  /**
   * For a lossy rewrite: the error it states, per output element (added to the two bounds).
   * Exact rewrites leave it out.
   */
  allowance?(original: Graph, rewritten: Graph, feeds: Readonly<Record<string, Float32Array>>): Readonly<Record<string, ArrayLike<number>>>;
}

/**
 * Checks a rewrite on one case: the rewritten graph and the original, both on the float64
 * reference with the same feeds, must agree element by element within the sum of their bounds
 * (each is within its bound of a correct float32 result, so a correct rewrite may differ by at
 * most the sum); NaN must stay NaN and infinities must match. `actual` holds the rewritten
 * graph's reference (rounded to float32), `reference` the original's.
 */
export async function checkTransformCase(transform: GraphTransform, c: ConformanceCase, transformOptions: Record<string, unknown> = {}): Promise<CaseOutcome> {
  let before: Record<string, RefTensor>;
  try {
    before = evaluate(c.graph, c.feeds);
  } catch (e) {
    return failedOutcome('reference', errorMessage(e));
  }
  let after: Record<string, RefTensor>;
  let allowance: Readonly<Record<string, ArrayLike<number>>> | undefined;
  try {
    const rewritten = transform.run(c.graph, transformOptions).graph;
    after = evaluate(rewritten, c.feeds);
    allowance = transform.allowance?.(c.graph, rewritten, c.feeds);
  } catch (e) {
    return failedOutcome('compile', `${transform.name}: ${errorMessage(e)}`);
  }
  const outputs: Record<string, Comparison> = {};
  const actual: Record<string, Float32Array> = {};
  let worstRatio = 0;
  let failingOutput: string | undefined;
  for (const name of Object.keys(c.graph.outputs)) {
    const b = before[name];
    const a = after[name];
    if (!a || a.value.length !== b.value.length) {
      return { ...failedOutcome('outputs', `${transform.name} changed output '${name}' (${a ? a.value.length : 'no'} elements, expected ${b.value.length})`), outputs };
    }
    actual[name] = Float32Array.from(a.value);
    const cmp = compareReferences(a, b, allowance?.[name]);
    outputs[name] = cmp;
    worstRatio = Math.max(worstRatio, cmp.worstRatio);
    if (!cmp.ok && failingOutput === undefined) failingOutput = name;
  }
  if (failingOutput === undefined) return { ok: true, worstRatio, outputs, actual, reference: before, summary: `ok (worst difference ${formatRatio(worstRatio)} of the bounds)` };
  const shape = before[failingOutput].shape;
  return {
    ok: false,
    worstRatio,
    outputs,
    failingOutput,
    actual,
    reference: before,
    summary: `after ${transform.name}, output '${failingOutput}' [${shape.join(',')}]: ${describeComparison(outputs[failingOutput], shape)}`,
  };
}

export interface TransformConformanceOptions extends Omit<ConformanceOptions, 'backend' | 'check' | 'container'> {
  readonly transform: GraphTransform;
  /** Options passed to the transform (a pass's PassOptions). */
  readonly transformOptions?: Record<string, unknown>;
}

/** Name under which a transform's results are reported ('pass:<name>'). */
export const transformSubject = (t: GraphTransform): string => `pass:${t.name}`;

/**
 * The conformance suite for a rewrite (a pass): every property's cases, each checked with
 * `checkTransformCase`. The non-finite / extreme properties are off by default here (a lossy
 * factorization legitimately turns Inf * w into NaN); pass `special` to run them.
 */
export function runTransformConformance(options: TransformConformanceOptions): Observable<ConformanceEvent> {
  const { transform, transformOptions, ...rest } = options;
  return runConformance({
    special: [],
    passGraphs: rest.graphs ?? 100,
    ...rest,
    backend: transformSubject(transform),
    check: (c) => checkTransformCase(transform, c, transformOptions),
  });
}

export function runTransformConformanceToReport(options: TransformConformanceOptions): Promise<ConformanceReport> {
  const { transform, transformOptions, ...rest } = options;
  return runConformanceToReport({
    special: [],
    passGraphs: rest.graphs ?? 100,
    ...rest,
    backend: transformSubject(transform),
    check: (c) => checkTransformCase(transform, c, transformOptions),
  });
}

/** Where `checkTransformOnBackends` also runs the rewritten graph. */
export interface TransformBackendOptions {
  readonly backends: readonly string[];
  readonly container?: SessionOptions['container'];
  readonly transformOptions?: Record<string, unknown>;
}

/**
 * A rewrite checked end to end: on the reference (`checkTransformCase`), then the rewritten graph
 * run on each backend against its own reference, so a rewrite producing a graph a backend
 * mishandles (a fused node with a flag its kernel ignores) is caught too.
 */
export async function checkTransformOnBackends(transform: GraphTransform, c: ConformanceCase, options: TransformBackendOptions): Promise<CaseOutcome> {
  const t = await checkTransformCase(transform, c, options.transformOptions);
  if (!t.ok || options.backends.length === 0) return t;
  let graph: Graph;
  try {
    graph = transform.run(c.graph, options.transformOptions ?? {}).graph;
  } catch (e) {
    return failedOutcome('compile', `${transform.name}: ${errorMessage(e)}`);
  }
  // A rewrite may drop an input nobody reads any more: feed only the inputs the graph still has.
  const feeds = Object.fromEntries(graph.inputs.map((v) => [v.name, c.feeds[v.name]]));
  let worstRatio = t.worstRatio;
  for (const backend of options.backends) {
    const o = await checkCase({ graph, feeds }, { backend, container: options.container });
    if (!o.ok) return { ...o, summary: `after ${transform.name}, on backend '${backend}': ${o.summary}` };
    worstRatio = Math.max(worstRatio, o.worstRatio);
  }
  return { ...t, worstRatio };
}
