/**
 * The timeline of whole runs (opt-in, `WorkersBackendOptions.timeline`): when each thread ran
 * each range of a step. Every participant writes its spans into its own region of one
 * SharedArrayBuffer while the run goes; the calling thread reads them all once the run is over
 * (the workers' writes happen before their PENDING decrement, which the caller has seen).
 *
 * Layout: one Int32 count per participant (workers by slot, then the calling thread), then per
 * participant SPANS_PER_RUN records of five Float64: node index, first and end unit, start and
 * end time. Times are `performance.timeOrigin + performance.now()` of the writing thread, which
 * agree across threads to within microseconds. A run with more spans than fit keeps the first
 * ones and counts the rest.
 */
import type { RunRange } from './schedule.js';

/** Spans one participant can record per run (a step's chunks times its chained followers). */
export const SPANS_PER_RUN = 4096;
const FIELDS = 5;

/** One kernel call of a whole run: which thread ran which node, when (ms, the calling thread's performance.now()). */
export interface Span {
  /** -1 for the calling thread, else the worker's slot. */
  readonly thread: number;
  readonly node: string;
  /** The node's units [first, end) it ran. */
  readonly units: readonly [number, number];
  readonly start: number;
  readonly end: number;
}

/** One whole run as the timeline saw it (ms, the calling thread's performance.now()). */
export interface TimelineRun {
  readonly start: number;
  readonly end: number;
  readonly spans: readonly Span[];
  /** Spans that did not fit (SPANS_PER_RUN per thread). */
  readonly dropped: number;
}

/** Bytes of the counts, rounded up so that the Float64 records that follow are 8-byte aligned. */
const countBytes = (workers: number): number => 8 * Math.ceil((workers + 1) / 2);

/** Bytes of the shared buffer for `workers` workers plus the calling thread. */
export function timelineBytes(workers: number): number {
  return countBytes(workers) + 8 * FIELDS * SPANS_PER_RUN * (workers + 1);
}

/** The counts (one per participant) and the records of a timeline buffer. */
function views(buffer: SharedArrayBuffer, workers: number): { counts: Int32Array; spans: Float64Array } {
  return { counts: new Int32Array(buffer, 0, workers + 1), spans: new Float64Array(buffer, countBytes(workers)) };
}

/** One participant's writer: `record(node, first, end, start, end)` with absolute times (timeOrigin + now). */
export class TimelineWriter {
  private readonly counts: Int32Array;
  private readonly spans: Float64Array;
  private readonly base: number;

  constructor(
    buffer: SharedArrayBuffer,
    workers: number,
    /** The worker's slot, or `workers` for the calling thread. */
    private readonly participant: number,
  ) {
    ({ counts: this.counts, spans: this.spans } = views(buffer, workers));
    this.base = participant * FIELDS * SPANS_PER_RUN;
  }

  /** Now, as the timeline stores it. */
  static now(): number {
    return performance.timeOrigin + performance.now();
  }

  record(node: number, first: number, last: number, start: number, end: number): void {
    const n = this.counts[this.participant]++;
    if (n >= SPANS_PER_RUN) return;
    const o = this.base + FIELDS * n;
    this.spans[o] = node;
    this.spans[o + 1] = first;
    this.spans[o + 2] = last;
    this.spans[o + 3] = start;
    this.spans[o + 4] = end;
  }
}

/** The calling thread's side: resets the counts before a run, reads every participant's spans after it. */
export class TimelineReader {
  private readonly counts: Int32Array;
  private readonly spans: Float64Array;

  constructor(
    readonly buffer: SharedArrayBuffer,
    private readonly workers: number,
  ) {
    ({ counts: this.counts, spans: this.spans } = views(buffer, workers));
  }

  reset(): void {
    for (let p = 0; p <= this.workers; p++) Atomics.store(this.counts, p, 0);
  }

  /** The run's spans, sorted by start; `nodeName` names a node index; times become the caller's performance.now(). */
  read(start: number, end: number, nodeName: (index: number) => string): TimelineRun {
    const spans: Span[] = [];
    let dropped = 0;
    for (let p = 0; p <= this.workers; p++) {
      const n = Atomics.load(this.counts, p);
      dropped += Math.max(0, n - SPANS_PER_RUN);
      for (let k = 0, o = p * FIELDS * SPANS_PER_RUN; k < Math.min(n, SPANS_PER_RUN); k++, o += FIELDS) {
        spans.push({
          thread: p === this.workers ? -1 : p,
          node: nodeName(this.spans[o]),
          units: [this.spans[o + 1], this.spans[o + 2]],
          start: this.spans[o + 3] - performance.timeOrigin,
          end: this.spans[o + 4] - performance.timeOrigin,
        });
      }
    }
    spans.sort((a, b) => a.start - b.start);
    return { start, end, spans, dropped };
  }
}

/** `run` wrapped to record each call in `writer` (or `run` itself without a writer). */
export function recorded(writer: TimelineWriter | null, run: RunRange): RunRange {
  if (!writer) return run;
  return (step, start, end, node) => {
    const t0 = TimelineWriter.now();
    run(step, start, end, node);
    writer.record(node, start, end, t0, TimelineWriter.now());
  };
}

/** One thread's part of a run: its kernel calls, its time inside kernels (ms), and when its first kernel started. */
export interface ThreadTotal {
  readonly thread: number;
  readonly calls: number;
  readonly busy: number;
  readonly firstStart: number;
}

/** Each thread's part of `run` (only threads that ran a kernel), by thread: the calling thread (-1) first. */
export function threadTotals(run: TimelineRun): ThreadTotal[] {
  const totals = new Map<number, { thread: number; calls: number; busy: number; firstStart: number }>();
  for (const s of run.spans) {
    const t = totals.get(s.thread) ?? totals.set(s.thread, { thread: s.thread, calls: 0, busy: 0, firstStart: s.start }).get(s.thread)!;
    t.calls++;
    t.busy += s.end - s.start;
    t.firstStart = Math.min(t.firstStart, s.start);
  }
  return [...totals.values()].sort((a, b) => a.thread - b.thread);
}
