/**
 * The worker: receives programs (plain-data steps + shared memories) once, then waits on its
 * control slot and runs ranges of steps with the cpu backend's kernels. Runs in a Node worker
 * thread and in a browser module Web Worker alike.
 */
import { cpuKernel, Scratch, WasmGemm, type Memory, type Step } from '@tessera/backend-cpu/kernels';
import { arrive, runSchedule, runWithFollowers } from './schedule.js';
import { recorded, TimelineWriter } from './timeline.js';
import {
  ABORT,
  ACK,
  BARRIER,
  CMD,
  CMD_RUN,
  CURRENT,
  RUN_MAIN,
  CMD_QUIT,
  CMD_STEP,
  CMD_YIELD,
  OWNER,
  PENDING,
  PROGRAM,
  SEQ,
  START,
  END,
  STATUS,
  STATUS_ERROR,
  STATUS_OK,
  STEP,
  slotBase,
  type FaultKind,
  type FromWorker,
  type ProgramMessage,
  type ToWorker,
} from './protocol.js';

interface Port {
  post(msg: FromWorker): void;
  listen(fn: (msg: ToWorker) => void): void;
  exit(code: number): void;
  /** A full garbage collection of this worker's heap, where the host allows one (Node). */
  collect?: () => void;
}

async function openPort(): Promise<Port> {
  const scope = globalThis as unknown as { WorkerGlobalScope?: unknown; postMessage?: (m: unknown) => void };
  if (scope.WorkerGlobalScope === undefined && typeof process !== 'undefined' && process.versions?.node) {
    const { parentPort } = await import('node:worker_threads');
    if (!parentPort) throw new Error('@tessera/backend-workers: worker.ts must run in a worker thread');
    return {
      post: (msg) => parentPort.postMessage(msg),
      listen: (fn) => parentPort.on('message', fn),
      exit: (code) => process.exit(code),
      collect: await nodeCollector(),
    };
  }
  const self = globalThis as unknown as {
    postMessage(msg: unknown): void;
    addEventListener(type: 'message', fn: (e: MessageEvent) => void): void;
    close(): void;
  };
  return {
    post: (msg) => self.postMessage(msg),
    listen: (fn) => self.addEventListener('message', (e: MessageEvent) => fn(e.data as ToWorker)),
    exit: () => self.close(),
  };
}

/**
 * Node's `gc` for this worker. A worker waits in Atomics.wait and allocates almost nothing, so
 * V8 never collects its heap on its own: its handles of an unloaded program's shared memory
 * (megabytes each) would keep that memory alive until the worker ends. `gc` is reached as
 * Node's tooling does: a context created while --expose-gc is set, the flag restored at once.
 */
async function nodeCollector(): Promise<(() => void) | undefined> {
  const own = (globalThis as { gc?: () => void }).gc;
  if (typeof own === 'function') return own;
  try {
    const [v8, vm] = await Promise.all([import('node:v8'), import('node:vm')]);
    v8.setFlagsFromString('--expose-gc');
    try {
      return vm.runInNewContext('gc') as () => void;
    } finally {
      v8.setFlagsFromString('--no-expose-gc');
    }
  } catch {
    return undefined;
  }
}

interface Loaded {
  /** The program as loaded: its schedule and its shared memory. */
  readonly message: ProgramMessage;
  /** Bound on first use (wasm: instantiating the GEMM on the shared memory can fail, and is then a step error). */
  mem: Memory | null;
  /** wasm: this worker's scratch region of the shared memory (fixed size); js: null (grown on demand). */
  scratch: Float32Array | null;
}

const port = await openPort();
const programs = new Map<number, Loaded>();
const faults = new Map<string, FaultKind>();
const scratch = new Scratch();
let ctrl: Int32Array | null = null;
let base = 0;
let index = 0;
let lastSeq = 0;
let owner = 0;
/** Spans of whole runs go here when the pool keeps a timeline. */
let timeline: TimelineWriter | null = null;

/** False once the pool has given this worker's slot to a replacement. */
const ownsSlot = (c: Int32Array): boolean => Atomics.load(c, base + OWNER) === owner;

function load(msg: ProgramMessage): void {
  const p: Loaded = { message: msg, mem: null, scratch: null };
  programs.set(msg.id, p);
  try {
    bind(p);
  } catch {
    // Reported, naming the node, by the first step that needs it (runStep binds again).
  }
}

/** Views of the program's memory for this worker (and, on the wasm path, its GEMM instance). */
function bind(p: Loaded): Memory {
  const m = p.message.memory;
  if (m.kind === 'js') {
    p.mem = { arena: new Float32Array(m.arena), weights: new Float32Array(m.weights) };
    return p.mem;
  }
  const own = m.scratch[index];
  if (!own) throw new Error(`no scratch region for worker ${index} in program ${p.message.id}`);
  const buffer = m.memory.buffer;
  const wasm = new WasmGemm(m.memory, own.gemmByteOffset, m.module);
  p.scratch = new Float32Array(buffer, own.scratchByteOffset, own.scratchLength);
  p.mem = {
    arena: new Float32Array(buffer, m.arena.byteOffset, m.arena.length),
    weights: new Float32Array(buffer, m.weights.byteOffset, m.weights.length),
    gemm: wasm,
  };
  return p.mem;
}

/** Test hook: fails (throws, exits or hangs) as told by a 'fault' message for this node. */
function injectedFault(node: string): void {
  const fault = faults.get(node);
  if (!fault) return;
  faults.delete(node);
  if (fault === 'throw') throw new Error(`injected fault on node '${node}'`);
  if (fault === 'exit') port.exit(3);
  if (fault === 'hang') for (const cell = new Int32Array(new SharedArrayBuffer(4)); ; ) Atomics.wait(cell, 0, 0, 1000);
}

/** One step's range with the cpu kernel (and the test faults). */
function run(step: Step, mem: Memory, program: Loaded, start: number, end: number): void {
  injectedFault(step.node);
  const kernel = cpuKernel(step.kernel);
  if (!kernel) throw new Error(`no cpu kernel '${step.kernel}'`);
  kernel.run(step, mem, start, end, program.scratch ?? scratch.get(kernel.scratchSize?.(step, start, end) ?? 0));
}

/** The program a command names, bound to this worker's memory. */
function programOf(c: Int32Array): { program: Loaded; mem: Memory } {
  const program = programs.get(c[base + PROGRAM]);
  if (!program) throw new Error(`program ${c[base + PROGRAM]} is not loaded in this worker`);
  return { program, mem: program.mem ?? bind(program) };
}

/** Reports the end of a command: its status, its acknowledgement, and one fewer PENDING. */
function finish(c: Int32Array, seq: number, error: unknown, node: string): void {
  let status = STATUS_OK;
  if (error !== null) {
    status = STATUS_ERROR;
    const err = error instanceof Error ? error : new Error(String(error));
    port.post({ type: 'error', seq, node, message: err.message, stack: err.stack });
  }
  if (!ownsSlot(c)) return port.exit(0);
  Atomics.store(c, base + STATUS, status);
  Atomics.store(c, base + ACK, seq);
  if (Atomics.sub(c, PENDING, 1) === 1) Atomics.notify(c, PENDING);
}

/** CMD_STEP: one range of one step (and its chained followers). */
function runStep(c: Int32Array, seq: number): void {
  let node = '?';
  let error: unknown = null;
  try {
    const { program, mem } = programOf(c);
    const index = c[base + STEP];
    const schedule = program.message.schedule;
    if (!schedule.steps[index]) throw new Error(`step ${index} has nothing to run`);
    runWithFollowers(schedule, index, c[base + START], c[base + END], (step, start, end) => {
      node = step.node;
      run(step, mem, program, start, end);
    });
  } catch (e) {
    error = e;
  }
  finish(c, seq, error, node);
}

/** Thrown out of a barrier when another participant failed: the run is over, this worker did nothing wrong. */
class Aborted extends Error {}

/**
 * Barriers of a whole-run dispatch spin this long before they sleep in short slices: the
 * participants finish balanced parts within microseconds of each other, and a sleeping thread
 * takes tens of microseconds (on a virtual machine sometimes milliseconds) to wake.
 */
const BARRIER_SPIN_MS = 2;

/** Waits at barrier k until every participant arrived; throws Aborted if the run failed. */
function barrier(c: Int32Array, k: number): void {
  const target = arrive(c, k);
  if (target === null) return;
  const t0 = performance.now();
  for (let i = 1; ; i++) {
    const v = Atomics.load(c, BARRIER);
    if (v >= target) return;
    if (Atomics.load(c, ABORT) !== 0) throw new Aborted('run aborted');
    if ((i & 1023) === 0 && performance.now() - t0 > BARRIER_SPIN_MS) {
      if (!ownsSlot(c)) throw new Aborted('slot taken over');
      Atomics.wait(c, BARRIER, v, 1);
    }
  }
}

/** CMD_RUN: this worker's share of every step of the program (schedule.ts), barriers in between. */
function runProgram(c: Int32Array, seq: number): void {
  let node = '?';
  let error: unknown = null;
  try {
    const { program, mem } = programOf(c);
    const schedule = program.message.schedule;
    const enter = (i: number): void => {
      Atomics.store(c, base + CURRENT, i);
      node = schedule.steps[i]!.node;
      // At step entry, not at the first claimed chunk: another participant may claim them all.
      injectedFault(node);
    };
    const mainShares = Atomics.load(c, RUN_MAIN) !== 0;
    const runRange = recorded(timeline, (step: Step, start: number, end: number) => {
      node = step.node;
      run(step, mem, program, start, end);
    });
    for (const k of runSchedule(schedule, c, index, mainShares, enter, runRange)) {
      barrier(c, k);
    }
  } catch (e) {
    if (!(e instanceof Aborted)) {
      error = e;
      // The others may wait at a barrier for this worker: release them.
      Atomics.store(c, ABORT, 1);
      Atomics.notify(c, BARRIER);
    }
  }
  finish(c, seq, error, node);
}

/**
 * Polls the slot's sequence number for up to `spinMs` (from the pool) before the worker sleeps
 * in Atomics.wait: the next command usually comes soon, and a sleeping thread takes tens of
 * microseconds, sometimes milliseconds, to wake (and may wake on a core another thread uses).
 */
let spinMs = 0.05;

function spinFor(c: Int32Array): number {
  const t0 = performance.now();
  for (;;) {
    for (let i = 0; i < 256; i++) {
      const seq = Atomics.load(c, base + SEQ);
      if (seq !== lastSeq) return seq;
    }
    if (performance.now() - t0 > spinMs) return Atomics.load(c, base + SEQ);
  }
}

/** Waits on the control slot and runs commands until told to yield (to read a message) or quit. */
function serve(): void {
  const c = ctrl!;
  for (;;) {
    let seq = spinFor(c);
    while (seq === lastSeq && ownsSlot(c)) {
      Atomics.wait(c, base + SEQ, lastSeq);
      // Woken by a command, or nudged (pool.nudge): a command is coming, poll for it.
      seq = spinFor(c);
    }
    if (!ownsSlot(c)) return port.exit(0);
    lastSeq = seq;
    const cmd = c[base + CMD];
    if (cmd === CMD_STEP) runStep(c, seq);
    else if (cmd === CMD_RUN) runProgram(c, seq);
    else if (cmd === CMD_YIELD) return;
    else if (cmd === CMD_QUIT) return port.exit(0);
  }
}

port.listen((msg) => {
  switch (msg.type) {
    case 'init':
      ctrl = new Int32Array(msg.control);
      index = msg.index;
      base = slotBase(msg.index);
      owner = msg.owner;
      spinMs = msg.spinMs;
      timeline = msg.timeline && new TimelineWriter(msg.timeline.buffer, msg.timeline.workers, msg.index);
      lastSeq = Atomics.load(ctrl, base + SEQ);
      for (const p of msg.programs) load(p);
      break;
    case 'load':
      load(msg);
      break;
    case 'unload':
      programs.delete(msg.id);
      port.collect?.();
      break;
    case 'fault':
      faults.set(msg.node, msg.kind);
      break;
  }
  port.post({ type: 'ack', op: msg.type });
  serve();
});
