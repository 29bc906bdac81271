/** What a session reports while it runs (session.events$). Times are performance.now() milliseconds. */
export type ExecEvent =
  | { readonly type: 'run-start'; readonly run: number; readonly backend: string; readonly time: number }
  | { readonly type: 'node-start'; readonly run: number; readonly backend: string; readonly node: string; readonly op: string; readonly time: number }
  | {
      readonly type: 'node-end';
      readonly run: number;
      readonly backend: string;
      readonly node: string;
      readonly op: string;
      readonly time: number;
      readonly duration: number;
      /** Bytes the node reads and writes (operands + output, float32). */
      readonly bytes: number;
    }
  | { readonly type: 'run-end'; readonly run: number; readonly backend: string; readonly time: number; readonly duration: number };

/** One Chrome trace event ("X" = complete event), as chrome://tracing and Perfetto read them. */
export interface TraceEvent {
  name: string;
  cat: string;
  ph: 'X';
  ts: number;
  dur: number;
  pid: number;
  tid: number;
  args: Record<string, unknown>;
}

/** Converts recorded events to Chrome's trace-event JSON (times in microseconds). */
export function toChromeTrace(events: readonly ExecEvent[]): { traceEvents: TraceEvent[]; displayTimeUnit: 'ms' } {
  const traceEvents: TraceEvent[] = [];
  const runStarts = new Map<number, number>();
  for (const e of events) {
    if (e.type === 'run-start') runStarts.set(e.run, e.time);
    if (e.type === 'run-end') {
      traceEvents.push({ name: `run ${e.run}`, cat: 'run', ph: 'X', ts: us(e.time - e.duration), dur: us(e.duration), pid: 1, tid: 0, args: { backend: e.backend } });
    }
    if (e.type === 'node-end') {
      traceEvents.push({
        name: e.node,
        cat: e.op,
        ph: 'X',
        ts: us(e.time - e.duration),
        dur: us(e.duration),
        pid: 1,
        tid: 1,
        args: { op: e.op, backend: e.backend, bytes: e.bytes, run: e.run },
      });
    }
  }
  return { traceEvents, displayTimeUnit: 'ms' };
}

function us(ms: number): number {
  return Math.round(ms * 1000 * 1000) / 1000;
}
