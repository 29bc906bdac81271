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
 *   - tail: from the last kernel's end (any thread) to the end of the run;
 *   - stall / spread: the time kernels took beyond their node's usual speed (its median ms per
 *     unit over all the runs), in the one kernel call that lost most (stall) and in all the others
 *     (spread). A stall of milliseconds in one call is a thread that did not run (the virtual
 *     machine's host took its vCPU: the guest sees no other thread run meanwhile); a spread over
 *     every call is kernels running uniformly slower.
 *
 * So slow runs can be told apart: late threads (lag), kernels that ran slower than usual (busy,
 * stall, spread), or waiting (run - busy - lag).
 *
 * --sched (Linux) adds, from the kernel's per-thread clocks (thread-clock.ts): how long the caller
 * and the worker waited runnable for a CPU during the run (preempted), and how long the process's
 * other threads (V8's garbage collector and compiler threads) ran meanwhile. The workers time in
 * the first line then includes reading those clocks (about 0.5 ms per call here); the table does not.
 *
 * --steps adds, for the back-to-back runs, where the 2-thread share is lost step by step: each
 * dispatched step (a split step with its chained followers, or an inline one), its wall time,
 * the threads' kernel time in it against the cpu backend's time for the same nodes (profiled),
 * and the time lost (2 x wall - kernel time: a thread idle in the step or at its barrier), the
 * steps losing most first; plus the time between steps (barriers) and the run's lost share;
 * and, by op, the threads' kernel time against the cpu backend's (how much slower each kind of
 * kernel ran split over two threads than whole on one).
 *
 *   npx tsx --conditions=@tessera/source benchmarks/workers-timeline.ts [--workload W1-b32] [--level O0|O1|O2] [--runs 60] [--block 3] [--warmup 2] [--warmup-ms 1000] [--sched] [--steps 15] [--trace timeline.json]
 *
 * --trace writes the runs as a Chrome trace (chrome://tracing, ui.perfetto.dev): one lane per thread.
 */
import '@tessera/backend-cpu';
import { createWorkersBackend, threadTotals, type TimelineRun } from '@tessera/backend-workers';
import { randomTensor } from '@tessera/core';
import { workload, workloadGraph } from '@tessera/examples';
import { optimize } from '@tessera/passes';
import { createContainer, createSession, registerBackend } from '@tessera/runtime';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { median, tesseraCall, timeInterleaved } from './harness.js';
import { threadClock, threadDelta, type ThreadClock } from './thread-clock.js';

const { values: args } = parseArgs({
  options: {
    workload: { type: 'string', default: 'W1-b32' },
    level: { type: 'string', default: 'O0' },
    steps: { type: 'string' },
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
  readonly stall: number;
  readonly spread: number;
  readonly sched?: Sched;
}

/** By node: the median ms per unit of its kernel calls over `runs` (what a call of it usually takes). */
function usualSpeed(runs: readonly TimelineRun[]): Map<string, number> {
  const perUnit = new Map<string, number[]>();
  for (const run of runs) {
    for (const s of run.spans) {
      const units = s.units[1] - s.units[0];
      if (units > 0) (perUnit.get(s.node) ?? perUnit.set(s.node, []).get(s.node)!).push((s.end - s.start) / units);
    }
  }
  return new Map([...perUnit].map(([node, v]) => [node, median(v)]));
}

/** The run's kernel time beyond the usual speed: in its worst call (stall) and in the others (spread). */
function excess(run: TimelineRun, usual: ReadonlyMap<string, number>): { stall: number; spread: number } {
  const over = run.spans.map((s) => Math.max(0, s.end - s.start - (usual.get(s.node) ?? 0) * (s.units[1] - s.units[0])));
  const stall = Math.max(0, ...over);
  return { stall, spread: over.reduce((a, b) => a + b, 0) - stall };
}

/** The caller is the process's main thread; the worker, the other thread that ran longest. */
function schedOf(before: ThreadClock, after: ThreadClock): Sched {
  const delta = [...threadDelta(before, after)];
  const caller = delta.find(([tid]) => tid === String(process.pid))?.[1] ?? { run: 0, wait: 0 };
  const rest = delta.filter(([tid]) => tid !== String(process.pid)).map(([, t]) => t).sort((a, b) => b.run - a.run);
  return { callerWait: caller.wait, workerWait: rest[0]?.wait ?? 0, others: rest.slice(1).reduce((sum, t) => sum + t.run, 0) };
}

function stats(run: TimelineRun, usual: ReadonlyMap<string, number>, sched?: Sched): RunStats {
  const lag: Record<number, number> = {};
  const busy: Record<number, number> = {};
  const totals = threadTotals(run);
  for (const t of THREADS) {
    const total = totals.find((x) => x.thread === t);
    lag[t] = total ? total.firstStart - run.start : NaN;
    busy[t] = total?.busy ?? 0;
  }
  const lastEnd = Math.max(...run.spans.map((s) => s.end));
  return { ms: run.end - run.start, lag, busy, tail: run.end - lastEnd, ...excess(run, usual), sched };
}

function report(title: string, runs: readonly RunStats[], cpuMs: number): void {
  const sorted = [...runs].sort((a, b) => a.ms - b.ms);
  const f = (v: number) => v.toFixed(3);
  console.log(`\n${title} (${runs.length} runs), means by quartile of run time:`);
  const withSched = runs.every((r) => r.sched);
  const schedHead = withSched ? ' waited caller | waited worker 0 | other threads ran |' : '';
  console.log(`| quartile | run ms | x cpu | ${THREADS.map((t) => `lag ${threadName(t)}`).join(' | ')} | ${THREADS.map((t) => `busy ${threadName(t)}`).join(' | ')} | busy x cpu | tail | stall | spread |${schedHead}`);
  console.log(`|---|${'---:|'.repeat(6 + 2 * THREADS.length + (withSched ? 3 : 0))}`);
  for (let q = 0; q < 4; q++) {
    const part = sorted.slice(Math.floor((q * sorted.length) / 4), Math.floor(((q + 1) * sorted.length) / 4));
    if (!part.length) continue;
    const mean = (g: (r: RunStats) => number) => part.reduce((s, r) => s + g(r), 0) / part.length;
    const ms = mean((r) => r.ms);
    const busy = THREADS.map((t) => mean((r) => r.busy[t]));
    const cells = [f(ms), (cpuMs / ms).toFixed(2), ...THREADS.map((t) => f(mean((r) => r.lag[t]))), ...busy.map(f), (busy.reduce((a, b) => a + b, 0) / cpuMs).toFixed(2), f(mean((r) => r.tail)), f(mean((r) => r.stall)), f(mean((r) => r.spread))];
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

/** One dispatched step of a run: spans whose windows overlap (a head and its chained followers). */
interface StepSpan {
  readonly nodes: Set<string>;
  readonly start: number;
  readonly end: number;
  readonly busy: number;
}

/** The run's spans grouped into dispatched steps: nothing of step k+1 starts before step k's barrier, chained spans overlap. */
function dispatchedSteps(run: TimelineRun): StepSpan[] {
  const steps: { nodes: Set<string>; start: number; end: number; busy: number }[] = [];
  for (const s of [...run.spans].sort((a, b) => a.start - b.start)) {
    const last = steps[steps.length - 1];
    if (last && s.start < last.end) {
      last.nodes.add(s.node);
      last.end = Math.max(last.end, s.end);
      last.busy += s.end - s.start;
    } else steps.push({ nodes: new Set([s.node]), start: s.start, end: s.end, busy: s.end - s.start });
  }
  return steps;
}

/** --steps: per dispatched step (keyed by its first node), means over `runs`: wall, kernel time, its cpu time, lost thread time. */
function reportSteps(runs: readonly TimelineRun[], cpuNodeMs: ReadonlyMap<string, number>, opOf: (node: string) => string, top: number): void {
  const byStep = new Map<string, { wall: number; busy: number; cpu: number; count: number; nodes: string[] }>();
  let gaps = 0;
  let lostTotal = 0;
  let runMs = 0;
  for (const run of runs) {
    const steps = dispatchedSteps(run);
    steps.forEach((st, k) => {
      if (k > 0) gaps += st.start - steps[k - 1].end;
      const key = [...st.nodes][0];
      const e = byStep.get(key) ?? byStep.set(key, { wall: 0, busy: 0, cpu: 0, count: 0, nodes: [...st.nodes] }).get(key)!;
      e.wall += st.end - st.start;
      e.busy += st.busy;
      e.count++;
    });
    runMs += run.end - run.start;
    lostTotal += THREADS.length * (run.end - run.start) - steps.reduce((sum, st) => sum + st.busy, 0);
  }
  const n = runs.length;
  const rows = [...byStep].map(([key, e]) => {
    const cpu = e.nodes.reduce((sum, node) => sum + (cpuNodeMs.get(node) ?? 0), 0);
    return { key, nodes: e.nodes, wall: e.wall / n, busy: e.busy / n, cpu, lost: (THREADS.length * e.wall - e.busy) / n };
  });
  const f = (v: number) => v.toFixed(3);
  const cpuTotal = [...cpuNodeMs.values()].reduce((a, b) => a + b, 0);
  console.log(`\nsteps (back to back, means of ${n} runs): run ${f(runMs / n)} ms, cpu (profiled, sum of nodes) ${f(cpuTotal)} ms, ${rows.length} dispatched steps;`);
  console.log(`thread time lost ${f(lostTotal / n)} ms per run (${((100 * lostTotal) / (THREADS.length * runMs)).toFixed(1)}% of ${THREADS.length} x run), of which between steps ${f((THREADS.length * gaps) / n)} ms`);
  const byOp = new Map<string, { lost: number; wall: number; busy: number; cpu: number; steps: number }>();
  for (const r of rows) {
    const op = r.nodes.map(opOf).join('>');
    const e = byOp.get(op) ?? byOp.set(op, { lost: 0, wall: 0, busy: 0, cpu: 0, steps: 0 }).get(op)!;
    e.lost += r.lost;
    e.wall += r.wall;
    e.busy += r.busy;
    e.cpu += r.cpu;
    e.steps++;
  }
  console.log('\nby kind of step (head > followers): | kind | steps | wall ms | kernel ms | cpu ms | kernel x cpu | cpu / wall | lost ms |');
  for (const [op, e] of [...byOp].sort((a, b) => b[1].lost - a[1].lost)) {
    console.log(`| ${op} | ${e.steps} | ${f(e.wall)} | ${f(e.busy)} | ${f(e.cpu)} | ${(e.busy / e.cpu).toFixed(2)} | ${(e.cpu / e.wall).toFixed(2)} | ${f(e.lost)} |`);
  }
  // Kernel time per node (both threads, all chunks) against the cpu backend's time for the node, by op.
  const byNodeOp = new Map<string, { busy: number; cpu: number }>();
  for (const run of runs) {
    for (const s of run.spans) {
      const op = opOf(s.node);
      const e = byNodeOp.get(op) ?? byNodeOp.set(op, { busy: 0, cpu: 0 }).get(op)!;
      e.busy += (s.end - s.start) / n;
    }
  }
  for (const [node, ms] of cpuNodeMs) {
    const e = byNodeOp.get(opOf(node));
    if (e) e.cpu += ms;
  }
  console.log('\nkernel time by op (every chunk of every node of the op, both threads): | op | kernel ms | cpu ms | kernel x cpu |');
  for (const [op, e] of [...byNodeOp].sort((a, b) => b[1].busy - a[1].busy)) console.log(`| ${op} | ${f(e.busy)} | ${f(e.cpu)} | ${(e.busy / e.cpu).toFixed(2)} |`);
  console.log(`\nthe ${top} steps losing most: | step (first node) | nodes | wall ms | kernel ms | cpu ms | cpu / wall | lost ms |`);
  for (const r of [...rows].sort((a, b) => b.lost - a.lost).slice(0, top)) {
    console.log(`| ${r.key} | ${r.nodes.map(opOf).join('>')} | ${f(r.wall)} | ${f(r.busy)} | ${f(r.cpu)} | ${(r.cpu / r.wall).toFixed(2)} | ${f(r.lost)} |`);
  }
}

/** The cpu backend's median time of each node (ms), profiled. */
async function cpuNodeTimes(graph: ReturnType<typeof workloadGraph>, x: Float32Array): Promise<Map<string, number>> {
  const session = await createSession(graph, { backend: 'cpu', profile: true });
  try {
    for (let i = 0; i < 7; i++) await session.run({ x });
    const durations = new Map<string, number[]>();
    for (const e of session.trace().traceEvents) if (e.cat !== 'run') (durations.get(e.name) ?? durations.set(e.name, []).get(e.name)!).push(e.dur / 1000);
    return new Map([...durations].map(([node, d]) => [node, median(d.slice(2))]));
  } finally {
    session.dispose();
  }
}

async function main(): Promise<void> {
  const w = workload(args.workload!);
  if (!['O0', 'O1', 'O2'].includes(args.level!)) throw new Error(`--level must be O0, O1 or O2, got '${args.level}'`);
  const graph = optimize(workloadGraph(w), { level: args.level as 'O0' | 'O1' | 'O2' }).graph;
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
    const dropped = timeline.reduce((sum, r) => sum + r.dropped, 0);
    if (dropped) console.log(`warning: ${dropped} spans did not fit in the timeline (SPANS_PER_RUN per thread and run)`);
    const cpuMs = timings.get('cpu')!.backToBackMedian;
    const timedClocks = clocks.slice(-timed); // empty without --sched
    const usual = usualSpeed(timeline);
    const runs = timeline.map((run, i) => stats(run, usual, timedClocks[i]));
    const first = runs.filter((_, i) => i % block === 0);
    const later = runs.filter((_, i) => i % block !== 0);
    console.log(`${w.id}: cpu backend ${cpuMs.toFixed(3)} ms (median back to back), workers 1 worker + caller ${timings.get('workers')!.backToBackMedian.toFixed(3)} ms`);
    if (later.length) report('back to back', later, cpuMs);
    report('first call of a turn', first, timings.get('cpu')!.firstMedian);
    if (args.steps !== undefined) {
      const ops = new Map(graph.nodes.map((n) => [n.name, n.op]));
      reportSteps(timeline.filter((_, i) => i % block !== 0), await cpuNodeTimes(graph, x), (node) => ops.get(node) ?? '?', Number(args.steps));
    }
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
