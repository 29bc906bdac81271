import { checkTransformOnBackends, runConformanceToReport, type ConformanceReport, type GraphTransform } from '@tessera/conformance';
import type { Graph } from '@tessera/core';
import { BUILTIN_PASSES, PIPELINES, optimize, type OptLevel } from '@tessera/passes';
import type { defaultContainer } from '@tessera/runtime';

type Container = typeof defaultContainer;

/** A pipeline as a rewrite: `optimize` at that level (exact passes only). */
const pipeline = (level: OptLevel): GraphTransform => ({ name: level, run: (g: Graph) => ({ graph: optimize(g, { level }).graph }) });

/**
 * What `--passes` checks: O1, O2, O1 then O2 (a pipeline run on graphs it already optimized must
 * still agree with the original), and every exact pass of the pipelines alone. The lossy
 * factorization states its error and is checked by its own tests.
 */
export function passSubjects(): GraphTransform[] {
  const inPipelines = new Set(Object.values(PIPELINES).flat());
  const alone = BUILTIN_PASSES.filter((p) => p.exact && inPipelines.has(p.name));
  const o1 = pipeline('O1');
  const o2 = pipeline('O2');
  const both: GraphTransform = { name: 'O2(O1)', run: (g: Graph) => o2.run(o1.run(g, {}).graph, {}) };
  return [o1, o2, both, ...alone.map((p): GraphTransform => ({ name: p.name, run: (g: Graph, o: Record<string, unknown>) => p.run(g, o) }))];
}

/** Suite counts for the pass checks: random graphs and pass-shaped graphs (already fused ones included). */
export interface PassSuite {
  readonly seed: number;
  readonly graphs: number;
  readonly backends: readonly string[];
}

/**
 * Runs every subject on random graphs and pass-shaped graphs: the rewritten graph must agree with
 * the original on the reference and, run on each backend, with its own reference.
 */
export async function runPassChecks(suite: PassSuite, container: Container, onReport: (r: ConformanceReport) => void): Promise<ConformanceReport[]> {
  const reports: ConformanceReport[] = [];
  for (const transform of passSubjects()) {
    const report = await runConformanceToReport({
      backend: `pass:${transform.name}`,
      seed: suite.seed,
      ops: [],
      graphs: suite.graphs,
      passGraphs: suite.graphs,
      boundIO: 0,
      special: [],
      check: (c) => checkTransformOnBackends(transform, c, { backends: suite.backends, container }),
    });
    reports.push(report);
    onReport(report);
  }
  return reports;
}
