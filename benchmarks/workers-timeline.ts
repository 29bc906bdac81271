/**
 * Where the time of a 2-thread workers run goes: the workload runs as in `pnpm bench` (turns of
 * --block calls after a 5 ms idle pause, round-robin with the cpu backend), on a workers backend
 * that records its timeline (which thread ran which units of which node, when). For the runs
 * made back to back and for the first calls of the turns, by quartile of run time, it prints:
 *
 *   - run: the run's time (cpu: the cpu backend's median run, for reference);
 *   - lag: when each thread started its first kernel, after the run began;
 *   - busy: each thread's time inside kernels; `x cpu` = the sum over threads / cpu's median
 *     (1.00 = the split costs no more kernel time than one thread doing it all);
 *   - tail: from the last kernel's end (any thread) to the end of the run.
 *
 * So slow runs can be told apart: late threads (lag), kernels that ran slower than usual (busy,
 * e.g. a vCPU shared with another tenant), or waiting (run - busy - lag).
 *
 * --sched (Linux) adds, from the kernel's per-thread clocks (thread-clock.ts): how long the caller
 * and the worker waited runnable for a CPU during the run (preempted), and how long the process's
 * other threads (V8's garbage collector and compiler threads) ran meanwhile. The workers time in
 * the first line then includes reading those clocks (about 0.5 ms per call here); the table does not.
 *
 *   npx tsx --conditions=@tessera/source benchmarks/workers-timeline.ts [--workload W1-b32] [--runs 60] [--block 3] [--warmup 2] [--warmup-ms 1000] [--sched] [--trace timeline.json]
 *
 * --trace writes the runs as a Chrome trace (chrome://tracing, ui.perfetto.dev): one lane per thread.
 */
import '@tessera/backend-cpu';
import { createWorkersBackend, threadTotals, type TimelineRun } from '@tessera/backend-workers';
import { randomTensor } from '@tessera/core';
import { workload, workloadGraph } from '@tessera/examples';
import { createContainer, registerBackend } from '@tessera/runtime';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { median, tesseraCall, timeInterleaved } from './harness.js';
import { threadClock, threadDelta, type ThreadClock } from './thread-clock.js';

const { values: args } = parseArgs({
  options: {
    workload: { type: 'string', default: 'W1-b32' },
    runs: { type: 'string', default: '60' },
    block: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    'warmup-ms': { type: 'string', default: '1000' },
    trace: { type: 'string' },
    sched: { type: 'boolean', default: false },
  },
});

const THREADS = [-1, 0] as const;
const threadName = (t: number): string => (t === -1 ? 'caller' : `worker ${t}`);

/** --sched: ms the caller and the worker waited runnable during a run, and ms the process's other threads ran. */
interface Sched {
  readonly callerWait: number;
  readonly workerWait: number;
  readonly others: number;
}

interface RunStats {
  readonly ms: number;
  readonly lag: Record<number, number>;
  readonly busy: Record<number, number>;
  readonly tail: number;
  readonly sched?: Sched;
}

/** The caller is the process's main thread; the worker, the other thread that ran longest. */
function schedOf(before: ThreadClock, after: ThreadClock): Sched {
  const delta = [...threadDelta(before, after)];
  const caller = delta.find(([tid]) => tid === String(process.pid))?.[1] ?? { run: 0, wait: 0 };
  const rest = delta.filter(([tid]) => tid !== String(process.pid)).map(([, t]) => t).sort((a, b) => b.run - a.run);
  return { callerWait: caller.wait, workerWait: rest[0]?.wait ?? 0, others: rest.slice(1).reduce((sum, t) => sum + t.run, 0) };
}

function stats(run: TimelineRun, sched?: Sched): RunStats {
  const lag: Record<number, number> = {};
  const busy: Record<number, number> = {};
  const totals = threadTotals(run);
  for (const t of THREADS) {
    const total = totals.find((x) => x.thread === t);
    lag[t] = total ? total.firstStart - run.start : NaN;
    busy[t] = total?.busy ?? 0;
  }
  const lastEnd = Math.max(...run.spans.map((s) => s.end));
  return { ms: run.end - run.start, lag, busy, tail: run.end - lastEnd, sched };
}

function report(title: string, runs: readonly RunStats[], cpuMs: number): void {
  const sorted = [...runs].sort((a, b) => a.ms - b.ms);
  const f = (v: number) => v.toFixed(3);
  console.log(`\n${title} (${runs.length} runs), means by quartile of run time:`);
  const withSched = runs.every((r) => r.sched);
  const schedHead = withSched ? ' waited caller | waited worker 0 | other threads ran |' : '';
  console.log(`| quartile | run ms | x cpu | ${THREADS.map((t) => `lag ${threadName(t)}`).join(' | ')} | ${THREADS.map((t) => `busy ${threadName(t)}`).join(' | ')} | busy x cpu | tail |${schedHead}`);
  console.log(`|---|${'---:|'.repeat(4 + 2 * THREADS.length + (withSched ? 3 : 0))}`);
  for (let q = 0; q < 4; q++) {
    const part = sorted.slice(Math.floor((q * sorted.length) / 4), Math.floor(((q + 1) * sorted.length) / 4));
    if (!part.length) continue;
    const mean = (g: (r: RunStats) => number) => part.reduce((s, r) => s + g(r), 0) / part.length;
    const ms = mean((r) => r.ms);
    const busy = THREADS.map((t) => mean((r) => r.busy[t]));
    const cells = [f(ms), (cpuMs / ms).toFixed(2), ...THREADS.map((t) => f(mean((r) => r.lag[t]))), ...busy.map(f), (busy.reduce((a, b) => a + b, 0) / cpuMs).toFixed(2), f(mean((r) => r.tail))];
    if (withSched) cells.push(...(['callerWait', 'workerWait', 'others'] as const).map((k) => f(mean((r) => r.sched![k]))));
    console.log(`| ${['fastest', 'second', 'third', 'slowest'][q]} | ${cells.join(' | ')} |`);
  }
}

function chromeTrace(runs: readonly TimelineRun[]): object {
  const us = (ms: number) => Math.round(ms * 1000);
  const traceEvents = runs.flatMap((run, k) => [
    { name: `run ${k}`, cat: 'run', ph: 'X', ts: us(run.start), dur: us(run.end - run.start), pid: 1, tid: 0, args: {} },
    ...run.spans.map((s) => ({ name: s.node, cat: 'kernel', ph: 'X', ts: us(s.start), dur: us(s.end - s.start), pid: 1, tid: s.thread + 2, args: { units: s.units } })),
  ]);
  const names = [{ tid: 0, name: 'runs' }, ...THREADS.map((t) => ({ tid: t + 2, name: threadName(t) }))];
  return { traceEvents: [...traceEvents, ...names.map(({ tid, name }) => ({ name: 'thread_name', ph: 'M', pid: 1, tid, args: { name } }))], displayTimeUnit: 'ms' };
}

async function main(): Promise<void> {
  const w = workload(args.workload!);
  const graph = workloadGraph(w);
  const x = randomTensor(w.input, 42).data;
  const container = createContainer();
  const backend = createWorkersBackend({ threads: 1, mainShare: true, timeline: true });
  registerBackend(container, 'workers', () => backend);
  try {
    const cpu = await tesseraCall(graph, x, 'bound', { backend: 'cpu' });
    const workers = await tesseraCall(graph, x, 'bound', { backend: 'workers', container });
    const warmup = Number(args.warmup);
    const block = Number(args.block);
    const clocks: Sched[] = [];
    const run = args.sched
      ? async () => {
          const before = threadClock();
          await workers.run();
          clocks.push(schedOf(before, threadClock()));
        }
      : workers.run;
    const timed = Number(args.runs);
    const timings = await timeInterleaved([{ name: 'cpu', run: cpu.run }, { name: 'workers', run }], { warmup, warmupMs: Number(args['warmup-ms']), runs: timed, block });
    // One whole run per call: the warm-up calls, then turns of `block` calls (the first after the pause).
    const timeline = (await backend.takeTimeline()).slice(-timed);
    if (timeline.length !== timed) throw new Error(`${w.id}: expected ${timed} recorded runs, got ${timeline.length} (does the graph run inline?)`);
    const cpuMs = timings.get('cpu')!.backToBackMedian;
    const timedClocks = clocks.slice(-timed); // empty without --sched
    const runs = timeline.map((run, i) => stats(run, timedClocks[i]));
    const first = runs.filter((_, i) => i % block === 0);
    const later = runs.filter((_, i) => i % block !== 0);
    console.log(`${w.id}: cpu backend ${cpuMs.toFixed(3)} ms (median back to back), workers 1 worker + caller ${timings.get('workers')!.backToBackMedian.toFixed(3)} ms`);
    if (later.length) report('back to back', later, cpuMs);
    report('first call of a turn', first, timings.get('cpu')!.firstMedian);
    console.log(`\nmedian run: back to back ${median(later.map((r) => r.ms)).toFixed(3)} ms, first call ${median(first.map((r) => r.ms)).toFixed(3)} ms`);
    if (args.trace) {
      writeFileSync(args.trace, JSON.stringify(chromeTrace(timeline)));
      console.log(`Chrome trace written to ${args.trace}`);
    }
    cpu.session.dispose();
    workers.session.dispose();
  } finally {
    await backend.dispose();
  }
}

await main();
