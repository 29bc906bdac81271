import { compareToReference, evaluate, randomTensor, type Feeds, type Graph } from '@tessera/core';
import { createSession, type ExecEvent } from '@tessera/runtime';
import { yieldToPage } from './page-yield.js';

/** One node's span in the observed run, in ms from the run's start. */
export interface NodeSpan {
  readonly node: string;
  readonly op: string;
  readonly start: number;
  readonly duration: number;
}

export interface OutputAgreement {
  readonly output: string;
  readonly ok: boolean;
  /** Worst |actual - reference| as a fraction of its bound (core's comparator). */
  readonly worstRatio: number;
  readonly failures: number;
}

export interface RunResult {
  readonly backend: string;
  readonly kernels: string;
  readonly compileMs: number;
  readonly medianMs: number;
  readonly times: readonly number[];
  readonly timeline: readonly NodeSpan[];
  readonly runMs: number;
  readonly agreement: readonly OutputAgreement[];
}

/** Deterministic inputs, uniform in [-1, 1). */
export function feedsFor(graph: Graph, seed = 1): Feeds {
  return Object.fromEntries(graph.inputs.map((v, i) => [v.name, randomTensor(v.shape, seed + i).data]));
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Compiles `graph` on `backend`, runs it once to warm up, `runs` timed runs unobserved (the
 * session then emits nothing), one observed run for the per-node timeline, and checks the
 * outputs against the float64 reference. The session is disposed whatever happens.
 */
export async function runGraph(graph: Graph, backend: string, runs: number, report: (text: string) => void = () => {}): Promise<RunResult> {
  // Each status line gets a chance to paint (outside the timed runs).
  const status = (text: string) => {
    report(text);
    return yieldToPage();
  };
  const feeds = feedsFor(graph);
  await status(`compiling on ${backend}…`);
  const session = await createSession(graph, { backend });
  try {
    const outputs = await session.run(feeds);
    const times: number[] = [];
    for (let r = 0; r < runs; r++) {
      await status(`run ${r + 1} / ${runs} on ${backend}…`);
      const t0 = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t0);
    }
    const events: ExecEvent[] = [];
    const sub = session.events$.subscribe((e) => events.push(e));
    try {
      await session.run(feeds);
    } finally {
      sub.unsubscribe();
    }
    await status('checking against the float64 reference…');
    const reference = evaluate(graph, feeds);
    const agreement = Object.entries(reference).map(([output, ref]) => {
      const c = compareToReference(outputs[output], ref);
      return { output, ok: c.ok, worstRatio: c.worstRatio, failures: c.failures };
    });
    const stats = session.stats;
    return { backend, kernels: stats.kernels ?? '', compileMs: stats.compileMs, medianMs: median(times), times, ...timelineOf(events), agreement };
  } finally {
    session.dispose();
  }
}

/** Node spans of one observed run, relative to its start. */
function timelineOf(events: readonly ExecEvent[]): { timeline: NodeSpan[]; runMs: number } {
  const start = events.find((e) => e.type === 'run-start')?.time ?? 0;
  const end = events.find((e) => e.type === 'run-end');
  const timeline = events.flatMap((e) => (e.type === 'node-end' ? [{ node: e.node, op: e.op, start: e.time - e.duration - start, duration: e.duration }] : []));
  return { timeline, runMs: end?.type === 'run-end' ? end.duration : Math.max(0, ...timeline.map((s) => s.start + s.duration)) };
}
