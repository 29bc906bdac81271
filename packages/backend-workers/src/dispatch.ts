import type { Step } from '@tessera/backend-cpu/kernels';
import { TesseraError } from '@tessera/core';
import { MAIN } from './partition.js';
import { command, sleep, type ErrorMessage, type PoolOptions, type Slot } from './pool-state.js';
import { arrive, runSchedule } from './schedule.js';
import { recorded, TimelineReader, TimelineWriter, timelineBytes, type TimelineRun } from './timeline.js';
import type { Part, Schedule } from './types.js';
import {
  ABORT,
  ACK,
  BARRIER,
  CLAIM,
  CMD_RUN,
  CMD_STEP,
  CURRENT,
  END,
  PENDING,
  PROGRAM,
  RUN_MAIN,
  RUN_WORKERS,
  SEQ,
  START,
  STATUS,
  STATUS_ERROR,
  STEP,
  slotBase,
} from './protocol.js';

/** The main thread blocks at most this long at a time before it lets the event loop run (deaths, timers). */
const SLICE_MS = 10;
/** A timeline keeps this many runs until `takeTimeline` takes them (older ones are dropped). */
const KEPT_RUNS = 10_000;
/** The calling thread spins this long at a barrier of a whole run before it also yields to the event loop. */
const MAIN_BARRIER_SPIN_MS = 1;

/** One command sent for a step (or a whole run): what the worker was given, and its sequence number. */
interface Dispatched {
  readonly part: Part | null;
  readonly seq: number;
  readonly slot: Slot;
}

/** The calling thread's side of a whole run it takes part in: the program's schedule and how to run a range of a step. */
export interface MainShare {
  readonly schedule: Schedule;
  readonly run: (step: Step, start: number, end: number) => void;
  /** Called at the entry of each scheduled step (test faults). */
  readonly enter?: (nodeIndex: number) => void;
}

/** What the pool tells about the node a step belongs to, for errors. */
export interface StepInfo {
  readonly program: number;
  readonly step: number;
  readonly node: string;
  readonly op: string;
}

/** One turn of the event loop: setImmediate in Node; a MessageChannel message in browsers (nested setTimeout(0) is clamped to 4 ms). */
const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) => {
    if (typeof setImmediate === 'function') return void setImmediate(resolve);
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });

/**
 * Runs programs on the pool's workers (WorkerPool owns them: it starts, repairs and stops them):
 * whole runs and single steps, the caller's share and barriers, waiting for the workers, and
 * turning a worker that threw, died or hung into an error naming the node. A worker that failed
 * goes into `broken`, which the pool repairs before its next operation. Call every method that
 * runs something inside the pool's lock (`WorkerPool.exclusive`).
 */
export class Dispatcher {
  /** Steps dispatched to workers since the pool started. */
  dispatchedSteps = 0;
  /** With `options.timeline`: the spans' shared buffer, the calling thread's writer, and the runs recorded since the last `takeTimeline`. */
  private readonly timeline: { reader: TimelineReader; main: TimelineWriter; runs: TimelineRun[] } | null;

  constructor(
    private readonly ctrl: Int32Array,
    /** The pool's slots, by worker index (their workers change as the pool replaces them). */
    private readonly slots: readonly Slot[],
    /** Slots whose worker failed, for the pool to replace. */
    private readonly broken: Set<number>,
    private readonly options: PoolOptions,
    /** The calling thread may block in Atomics.wait (Node; not a page's main thread). */
    private readonly mainCanBlock: boolean,
  ) {
    const buffer = options.timeline ? new SharedArrayBuffer(timelineBytes(options.threads)) : null;
    this.timeline = buffer && { reader: new TimelineReader(buffer, options.threads), main: new TimelineWriter(buffer, options.threads, options.threads), runs: [] };
  }

  /** Where workers record their spans (sent to each at its start), or null without a timeline. */
  get timelineBuffer(): { readonly buffer: SharedArrayBuffer; readonly workers: number } | null {
    return this.timeline && { buffer: this.timeline.reader.buffer, workers: this.slots.length };
  }

  /** The whole runs recorded since the last call (none unless the pool keeps a timeline), oldest first. */
  takeTimeline(): TimelineRun[] {
    return this.timeline?.runs.splice(0) ?? [];
  }

  /**
   * Runs one step split into `parts`: dispatches the workers' parts through shared memory, runs
   * the main thread's part (if any) with `runMain`, and waits for the workers. Call it inside
   * `exclusive`. Fails with an error naming the node and the worker if a worker throws, dies,
   * or outlives the watchdog.
   */
  async runStep(info: StepInfo, parts: readonly Part[], runMain: (start: number, end: number) => void): Promise<void> {
    const c = this.ctrl;
    this.dispatchedSteps++;
    let workers = 0;
    for (const p of parts) if (p.worker !== MAIN) workers++;
    Atomics.store(c, PENDING, workers);
    const seqs: number[] = [];
    for (const p of parts) {
      if (p.worker === MAIN) continue;
      const slot = this.slots[p.worker];
      if (slot.death !== null) {
        Atomics.sub(c, PENDING, 1);
        seqs.push(0);
        continue;
      }
      const b = slotBase(p.worker);
      c[b + PROGRAM] = info.program;
      c[b + STEP] = info.step;
      c[b + START] = p.start;
      c[b + END] = p.end;
      seqs.push(command(this.ctrl, p.worker, CMD_STEP));
    }
    let mainError: unknown = null;
    for (const p of parts) {
      if (p.worker !== MAIN) continue;
      try {
        runMain(p.start, p.end);
      } catch (e) {
        mainError = e;
      }
    }
    const dispatched = parts.filter((p) => p.worker !== MAIN).map((p, i) => ({ part: p, seq: seqs[i], slot: this.slots[p.worker] }));
    const failure = await this.awaitWorkers(dispatched, () => info);
    if (failure) throw failure;
    if (mainError) throw mainError;
  }

  /**
   * Runs a whole program (CMD_RUN): every participant runs its share of each step (schedule.ts)
   * and meets the others at a barrier before the next step. One wake-up per run instead of two
   * per step. With `main`, the calling thread takes part too (it runs MAIN parts and claims
   * chunks), so the pool plus the caller keep the cores busy and no thread waits for the run
   * to start or end; otherwise it sleeps meanwhile (MAIN parts go to worker 0). `describe`
   * names the node at `nodeIndex` for errors. The watchdog limits the whole run. Call it
   * inside `exclusive`.
   */
  async runProgram(program: number, steps: number, describe: (nodeIndex: number) => StepInfo, main?: MainShare): Promise<void> {
    const c = this.ctrl;
    const t0 = performance.now();
    this.dispatchedSteps += steps;
    const dead = this.slots.find((s) => s.death !== null);
    if (dead) {
      this.broken.add(dead.index);
      throw this.failure(describe(0), dead, null, `was not running (${dead.death})`);
    }
    Atomics.store(c, BARRIER, 0);
    Atomics.store(c, ABORT, 0);
    Atomics.store(c, CLAIM, 0);
    Atomics.store(c, CLAIM + 1, 0);
    Atomics.store(c, RUN_WORKERS, this.slots.length + (main ? 1 : 0));
    Atomics.store(c, RUN_MAIN, main ? 1 : 0);
    Atomics.store(c, PENDING, this.slots.length);
    this.timeline?.reader.reset();
    const dispatched = this.slots.map((slot) => {
      const b = slotBase(slot.index);
      c[b + PROGRAM] = program;
      c[b + STEP] = -1;
      Atomics.store(c, b + CURRENT, -1);
      return { part: null, seq: command(this.ctrl, slot.index, CMD_RUN), slot };
    });
    let mainError: Error | null = null;
    if (main) {
      let current = 0;
      try {
        const enter = (i: number): void => {
          current = i;
          main.enter?.(i);
        };
        const run = recorded(this.timeline?.main ?? null, main.run);
        for (const k of runSchedule(main.schedule, c, MAIN, true, enter, run)) {
          if (!(await this.mainBarrier(k, dispatched, t0))) break;
        }
      } catch (e) {
        const { node, op } = describe(current);
        mainError = new TesseraError(`backend 'workers': the calling thread's part of the node failed: ${e instanceof Error ? e.message : String(e)}`, { node, op });
        this.abortRun();
      }
    }
    const failure = await this.awaitWorkers(dispatched, (slot) => describe(Math.max(0, Atomics.load(c, slotBase(slot) + CURRENT))), t0);
    if (this.timeline && !failure) {
      const runs = this.timeline.runs;
      runs.push(this.timeline.reader.read(t0, performance.now(), (i) => describe(i).node));
      if (runs.length > KEPT_RUNS) runs.shift();
    }
    if (failure) throw failure;
    if (mainError) throw mainError;
  }

  /**
   * The calling thread at barrier k of a whole run: spins briefly (the others finish balanced
   * shares within microseconds of each other), then also yields to the event loop so that a
   * worker's death is seen. Returns false when the run is over without it (aborted, a worker
   * died, the watchdog): awaitWorkers then says why.
   */
  private async mainBarrier(k: number, dispatched: readonly Dispatched[], t0: number): Promise<boolean> {
    const c = this.ctrl;
    const target = arrive(c, k);
    if (target === null) return true;
    const spinFrom = performance.now();
    for (let i = 1; ; i++) {
      if (Atomics.load(c, BARRIER) >= target) return true;
      if (Atomics.load(c, ABORT) !== 0) return false;
      if ((i & 1023) === 0 && performance.now() - spinFrom > MAIN_BARRIER_SPIN_MS) {
        await yieldToEventLoop();
        if (dispatched.some((d) => d.slot.death !== null) || performance.now() - t0 > this.options.timeoutMs) return false;
      }
    }
  }

  /**
   * Wakes sleeping workers so that they poll for a command (for `spinMs`): called when a run
   * starts, before its inputs are copied, so a worker's wake-up overlaps that copy.
   */
  nudge(): void {
    for (const slot of this.slots) Atomics.notify(this.ctrl, slotBase(slot.index) + SEQ);
  }

  /** Tells workers waiting at a barrier of a whole-run dispatch that the run failed. */
  abortRun(): void {
    Atomics.store(this.ctrl, ABORT, 1);
    Atomics.notify(this.ctrl, BARRIER);
  }

  /** Waits until every dispatched part is done; returns the error to fail the run with, if any. */
  private async awaitWorkers(
    dispatched: readonly Dispatched[],
    /** The node a worker (by slot) was running, for errors. */
    describe: (slot: number) => StepInfo,
    t0 = performance.now(),
  ): Promise<Error | null> {
    const c = this.ctrl;
    const fail = (d: Dispatched, what: string, stack?: string): Error => this.failure(describe(d.slot.index), d.slot, d.part, what, stack);
    // Poll before sleeping: the workers usually finish soon, and a sleeping thread wakes late.
    const spinFrom = performance.now();
    for (let i = 0; Atomics.load(c, PENDING) > 0 && (i & 255 || performance.now() - spinFrom < this.options.spinMs); i++);
    for (;;) {
      const v = Atomics.load(c, PENDING);
      if (v <= 0) break;
      if (this.mainCanBlock) {
        if (Atomics.wait(c, PENDING, v, SLICE_MS) !== 'timed-out') continue;
        await yieldToEventLoop();
      } else {
        const waitAsync = (Atomics as unknown as { waitAsync?: (a: Int32Array, i: number, v: number, t: number) => { async: boolean; value: unknown } }).waitAsync;
        if (waitAsync) {
          const r = waitAsync(c, PENDING, v, SLICE_MS);
          if (r.async) await r.value;
        } else await sleep(0);
        if (Atomics.load(c, PENDING) <= 0) break;
      }
      const dead = dispatched.filter((d) => d.slot.death !== null && Atomics.load(c, slotBase(d.slot.index) + ACK) !== d.seq);
      if (dead.length) {
        const errors = dead.map((d) => fail(d, `${d.slot.death}`));
        for (const d of dead) this.broken.add(d.slot.index);
        this.abortRun();
        await this.quiesce(dispatched);
        return errors[0];
      }
      if (performance.now() - t0 > this.options.timeoutMs) {
        const late = (d: Dispatched) => Atomics.load(c, slotBase(d.slot.index) + ACK) !== d.seq;
        if (!dispatched.some(late)) break;
        // Workers waiting at a barrier for the stuck one leave it and answer within moments.
        const errors = new Map(dispatched.map((d) => [d, fail(d, `did not finish within ${this.options.timeoutMs} ms (watchdog); it was stopped and is being replaced`)]));
        this.abortRun();
        for (const t1 = performance.now(); performance.now() - t1 < 200 && dispatched.some(late); ) await sleep(2);
        const stuck = dispatched.filter(late);
        if (stuck.length === 0) break;
        for (const d of stuck) this.broken.add(d.slot.index);
        return errors.get(stuck[0])!;
      }
    }
    for (const d of dispatched) {
      if (d.seq === 0) {
        this.broken.add(d.slot.index);
        return fail(d, `was not running (${d.slot.death})`);
      }
      if (Atomics.load(c, slotBase(d.slot.index) + STATUS) === STATUS_ERROR) {
        this.broken.add(d.slot.index);
        const msg = await this.reportedError(d.slot, d.seq);
        return fail(d, `threw: ${msg ? msg.message : 'an error it could not report'}`, msg?.stack);
      }
    }
    return null;
  }

  private failure(info: StepInfo, slot: Slot, part: Part | null, what: string, stack?: string): Error {
    const thread = slot.worker ? ` (thread ${slot.worker.threadId})` : '';
    const e = new TesseraError(
      `backend 'workers': worker ${slot.index}${thread} ${what}, while running ${part ? `units [${part.start}, ${part.end}) of ` : 'its part of '}the node`,
      { node: info.node, op: info.op },
    );
    if (stack) e.stack = `${e.stack}\nworker stack: ${stack}`;
    return e;
  }

  /** After a failure: lets the other workers finish their part of the step (or marks them broken). */
  private async quiesce(dispatched: readonly { seq: number; slot: Slot }[]): Promise<void> {
    const t0 = performance.now();
    for (const d of dispatched) {
      if (this.broken.has(d.slot.index)) continue;
      while (Atomics.load(this.ctrl, slotBase(d.slot.index) + ACK) !== d.seq && d.slot.death === null) {
        if (performance.now() - t0 > this.options.timeoutMs) {
          this.broken.add(d.slot.index);
          break;
        }
        await sleep(1);
      }
      if (d.slot.death !== null) this.broken.add(d.slot.index);
    }
  }

  /** The error message a worker posted for command `seq` (it posts before it signals). */
  private async reportedError(slot: Slot, seq: number): Promise<ErrorMessage | undefined> {
    const deadline = performance.now() + 2000;
    while (!slot.errors.has(seq) && slot.death === null && performance.now() < deadline) {
      await new Promise<void>((resolve) => {
        slot.onError = resolve;
        setTimeout(resolve, 50);
      });
    }
    slot.onError = null;
    const msg = slot.errors.get(seq);
    slot.errors.clear();
    return msg;
  }
}
