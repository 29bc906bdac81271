import type { Step } from '@tessera/backend-cpu';
import { TesseraError } from '@tessera/core';
import type { Host, HostWorker } from './host.js';
import { MAIN } from './partition.js';
import { arrive, runSchedule } from './schedule.js';
import { recorded, TimelineReader, TimelineWriter, timelineBytes, type TimelineRun } from './timeline.js';
import type { Part, Schedule } from './types.js';
import {
  ABORT,
  ACK,
  BARRIER,
  CLAIM,
  CMD,
  CMD_QUIT,
  CMD_RUN,
  CURRENT,
  RUN_MAIN,
  RUN_WORKERS,
  CMD_STEP,
  CMD_YIELD,
  END,
  OWNER,
  PENDING,
  PROGRAM,
  SEQ,
  START,
  STATUS,
  STATUS_ERROR,
  STEP,
  controlInts,
  slotBase,
  type FaultKind,
  type FromWorker,
  type ProgramMessage,
  type ToWorker,
} from './protocol.js';

export interface PoolOptions {
  readonly threads: number;
  /** Watchdog: a step (or a control message) that a worker has not finished after this long fails. */
  readonly timeoutMs: number;
  /** How long a worker may take to start (load its modules) before the pool gives up on it. */
  readonly startTimeoutMs: number;
  /** How long idle threads poll before they sleep: workers waiting for a command, the caller waiting for the end of a run. */
  readonly spinMs: number;
  /** Record when each thread ran what in whole runs (timeline.ts; read with `takeTimeline`). */
  readonly timeline: boolean;
}

/** The main thread blocks at most this long at a time before it lets the event loop run (deaths, timers). */
const SLICE_MS = 10;
/** A timeline keeps this many runs until `takeTimeline` takes them (older ones are dropped). */
const KEPT_RUNS = 10_000;
/** The calling thread spins this long at a barrier of a whole run before it also yields to the event loop. */
const MAIN_BARRIER_SPIN_MS = 1;

type ErrorMessage = Extract<FromWorker, { type: 'error' }>;

/** One command sent for a step (or a whole run): what the worker was given, and its sequence number. */
interface Dispatched {
  readonly part: Part | null;
  readonly seq: number;
  readonly slot: Slot;
}

interface Waiter {
  readonly op: string;
  readonly resolve: () => void;
  readonly reject: (e: Error) => void;
}

interface Slot {
  readonly index: number;
  worker: HostWorker | null;
  /** Why the worker is gone (exit code, uncaught error), or null while it lives. */
  death: string | null;
  /** Acks expected from the worker, in order. */
  waiters: Waiter[];
  /** Step errors the worker reported, by command sequence number. */
  errors: Map<number, ErrorMessage>;
  onError: (() => void) | null;
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

/** Tokens that tell a slot's current worker from a replaced one (see protocol.ts, OWNER). */
let nextOwner = 1;

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
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A fixed set of workers over one shared control block. Every operation (a run, loading a
 * program, a repair) holds the pool's lock, so sessions sharing the pool run one at a time.
 */
export class WorkerPool {
  private readonly ctrl: Int32Array;
  private readonly slots: Slot[];
  private readonly programs = new Map<number, ProgramMessage>();
  private tail: Promise<unknown> = Promise.resolve();
  private readonly broken = new Set<number>();
  private disposing: Promise<void> | null = null;
  private busy = 0;
  /** Steps dispatched to workers since the pool started. */
  dispatchedSteps = 0;
  /** With `options.timeline`: the spans' shared buffer, the calling thread's writer, and the runs recorded since the last `takeTimeline`. */
  private readonly timeline: { reader: TimelineReader; main: TimelineWriter; runs: TimelineRun[] } | null;

  private constructor(
    private readonly host: Host,
    readonly options: PoolOptions,
  ) {
    this.ctrl = new Int32Array(new SharedArrayBuffer(4 * controlInts(options.threads)));
    this.slots = Array.from({ length: options.threads }, (_, index) => ({
      index,
      worker: null,
      death: 'not started',
      waiters: [],
      errors: new Map(),
      onError: null,
    }));
    const buffer = options.timeline ? new SharedArrayBuffer(timelineBytes(options.threads)) : null;
    this.timeline = buffer && { reader: new TimelineReader(buffer, options.threads), main: new TimelineWriter(buffer, options.threads, options.threads), runs: [] };
  }

  /** The whole runs recorded since the last call (none unless the pool keeps a timeline), oldest first. */
  takeTimeline(): TimelineRun[] {
    return this.timeline?.runs.splice(0) ?? [];
  }

  /** Starts `options.threads` workers and waits until each has loaded its modules. */
  static async start(host: Host, options: PoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(host, options);
    try {
      await pool.exclusive(() => Promise.all(pool.slots.map((s) => pool.spawn(s))));
    } catch (e) {
      await pool.dispose();
      throw e;
    }
    return pool;
  }

  get threads(): number {
    return this.slots.length;
  }

  get isDisposed(): boolean {
    return this.disposing !== null;
  }

  /** Thread ids of the live workers (Node's threadId), by slot. */
  threadIds(): (number | null)[] {
    return this.slots.map((s) => (s.death === null ? s.worker!.threadId : null));
  }

  /**
   * Runs `fn` holding the pool's lock. Workers that failed during `fn` are replaced before the
   * lock is released, so the next operation finds a whole pool.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(async () => {
      if (this.disposing) throw new Error("backend 'workers': the worker pool is disposed");
      this.hold(+1);
      try {
        return await fn();
      } finally {
        this.hold(-1);
      }
    });
    this.tail = result.then(
      () => this.repair(),
      () => this.repair(),
    );
    return result;
  }

  /** Sends a program (plain-data steps + shared memories) to every worker; kept for replacements. */
  load(program: ProgramMessage): Promise<void> {
    this.programs.set(program.id, program);
    return this.exclusive(() => this.broadcast(program));
  }

  unload(id: number): Promise<void> {
    if (!this.programs.delete(id) || this.disposing) return Promise.resolve();
    return this.exclusive(() => this.broadcast({ type: 'unload', id }));
  }

  /** Test hook: worker `worker` fails (throws, exits, or hangs) the next time it runs `node`. */
  injectFault(worker: number, node: string, kind: FaultKind): Promise<void> {
    return this.exclusive(() => this.message(this.slots[worker], { type: 'fault', node, kind }));
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
      seqs.push(this.command(p.worker, CMD_STEP));
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
      return { part: null, seq: this.command(slot.index, CMD_RUN), slot };
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

  /** Stops every worker (after the operation in progress) and frees the pool. */
  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      await this.tail.catch(() => undefined);
      await Promise.all(
        this.slots.map(async (slot) => {
          if (slot.death === null) this.command(slot.index, CMD_QUIT);
          await this.stop(slot);
        }),
      );
      this.programs.clear();
    })();
    return this.disposing;
  }

  // --- internals -------------------------------------------------------------------------------

  private hold(delta: number): void {
    const before = this.busy;
    this.busy += delta;
    // Workers keep a Node process alive only while the pool works for someone.
    if ((before === 0) !== (this.busy === 0)) for (const s of this.slots) if (s.death === null) s.worker!.ref(this.busy > 0);
  }

  /** Writes a command into a worker's slot (its operands are already there) and wakes it. */
  private command(worker: number, cmd: number): number {
    const c = this.ctrl;
    const b = slotBase(worker);
    c[b + CMD] = cmd;
    const seq = (Atomics.load(c, b + SEQ) + 1) | 0;
    Atomics.store(c, b + SEQ, seq);
    Atomics.notify(c, b + SEQ);
    return seq;
  }

  /** Tells workers waiting at a barrier of a whole-run dispatch that the run failed. */
  private abortRun(): void {
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
      if (this.host.mainCanBlock) {
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

  /** Replaces every worker that failed, then returns; never rejects (a slot that cannot restart stays dead). */
  private async repair(): Promise<void> {
    if (this.broken.size === 0 || this.disposing) return;
    const slots = [...this.broken].map((i) => this.slots[i]);
    this.broken.clear();
    this.hold(+1);
    try {
      await Promise.all(
        slots.map(async (slot) => {
          await this.stop(slot);
          await this.spawn(slot).catch(() => undefined);
        }),
      );
    } finally {
      this.hold(-1);
    }
  }

  private async stop(slot: Slot): Promise<void> {
    const worker = slot.worker;
    slot.death ??= 'stopped by the pool';
    if (!worker) return;
    slot.worker = null;
    Atomics.store(this.ctrl, slotBase(slot.index) + OWNER, 0);
    Atomics.notify(this.ctrl, slotBase(slot.index) + SEQ);
    await Promise.race([worker.terminate(), sleep(5000)]);
  }

  private async spawn(slot: Slot): Promise<void> {
    const worker = this.host.spawn();
    slot.worker = worker;
    slot.death = null;
    slot.waiters = [];
    slot.errors = new Map();
    worker.ref(true);
    worker.onMessage((msg) => {
      if (slot.worker !== worker) return;
      if (msg.type === 'ack') slot.waiters.shift()?.resolve();
      else {
        slot.errors.set(msg.seq, msg);
        slot.onError?.();
      }
    });
    worker.onDeath((reason) => {
      if (slot.worker !== worker) return;
      slot.death = reason;
      const waiters = slot.waiters;
      slot.waiters = [];
      for (const w of waiters) w.reject(new Error(`backend 'workers': worker ${slot.index} (thread ${worker.threadId}) ${reason} during '${w.op}'`));
      slot.onError?.();
    });
    const owner = nextOwner++;
    Atomics.store(this.ctrl, slotBase(slot.index) + OWNER, owner);
    const init: ToWorker = {
      type: 'init', index: slot.index, owner, control: this.ctrl.buffer as SharedArrayBuffer, programs: [...this.programs.values()], spinMs: this.options.spinMs,
      timeline: this.timeline && { buffer: this.timeline.reader.buffer, workers: this.slots.length },
    };
    worker.post(init);
    try {
      await this.ack(slot, 'init', this.options.startTimeoutMs);
    } catch (e) {
      slot.death ??= 'did not start';
      slot.worker = null;
      await Promise.race([worker.terminate(), sleep(5000)]);
      throw e;
    } finally {
      if (slot.worker === worker) worker.ref(this.busy > 0);
    }
  }

  /** Sends a message to one worker (which waits on its slot: make it yield first) and waits for its ack. */
  private async message(slot: Slot, msg: ToWorker): Promise<void> {
    if (slot.death !== null) throw new Error(`backend 'workers': worker ${slot.index} is not running (${slot.death})`);
    const acked = this.ack(slot, msg.type, this.options.timeoutMs);
    this.command(slot.index, CMD_YIELD);
    slot.worker!.post(msg);
    try {
      await acked;
    } catch (e) {
      this.broken.add(slot.index);
      throw e;
    }
  }

  /** Sends a message to every worker; a worker that fails is replaced (and gets it at its start). */
  private async broadcast(msg: ToWorker): Promise<void> {
    await Promise.all(this.slots.map((s) => (s.death === null ? this.message(s, msg).catch(() => undefined) : (this.broken.add(s.index), undefined))));
  }

  private ack(slot: Slot, op: string, timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = slot.waiters.indexOf(waiter);
        if (i >= 0) slot.waiters.splice(i, 1);
        reject(new Error(`backend 'workers': worker ${slot.index} did not answer '${op}' within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        op,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      slot.waiters.push(waiter);
    });
  }
}
