import type { Host } from './host.js';
import { Dispatcher } from './dispatch.js';
import { command, sleep, type PoolOptions, type Slot, type Waiter } from './pool-state.js';
import { CMD_QUIT, CMD_YIELD, OWNER, SEQ, controlInts, slotBase, type FaultKind, type ProgramMessage, type ToWorker } from './protocol.js';

export type { PoolOptions } from './pool-state.js';

/** Tokens that tell a slot's current worker from a replaced one (see protocol.ts, OWNER). */
let nextOwner = 1;

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
  /** Runs programs on the workers (call it inside `exclusive`). */
  readonly dispatch: Dispatcher;

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
    this.dispatch = new Dispatcher(this.ctrl, this.slots, this.broken, options, host.mainCanBlock);
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

  /** Programs loaded in the workers (kept for replacements) and not unloaded yet. */
  get loadedPrograms(): number {
    return this.programs.size;
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

  /** Stops every worker (after the operation in progress) and frees the pool. */
  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      await this.tail.catch(() => undefined);
      await Promise.all(
        this.slots.map(async (slot) => {
          if (slot.death === null) command(this.ctrl, slot.index, CMD_QUIT);
          await this.stop(slot);
        }),
      );
      this.programs.clear();
    })();
    return this.disposing;
  }

  private hold(delta: number): void {
    const before = this.busy;
    this.busy += delta;
    // Workers keep a Node process alive only while the pool works for someone.
    if ((before === 0) !== (this.busy === 0)) for (const s of this.slots) if (s.death === null) s.worker!.ref(this.busy > 0);
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
      timeline: this.dispatch.timelineBuffer,
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
    command(this.ctrl, slot.index, CMD_YIELD);
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
