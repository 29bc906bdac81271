/**
 * The worker: receives programs (plain-data steps + shared memories) once, then waits on its
 * control slot and runs ranges of steps with the cpu backend's kernels. Runs in a Node worker
 * thread and in a browser module Web Worker alike.
 */
import { cpuKernel, Scratch, WasmGemm, type Memory, type Step } from '@tessera/backend-cpu';
import {
  ACK,
  CMD,
  CMD_QUIT,
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

interface Loaded {
  readonly steps: readonly (Step | null)[];
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

/** False once the pool has given this worker's slot to a replacement. */
const ownsSlot = (c: Int32Array): boolean => Atomics.load(c, base + OWNER) === owner;

function load(msg: ProgramMessage): void {
  const p: Loaded = { steps: msg.steps as (Step | null)[], message: msg, mem: null, scratch: null };
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
    wasm,
  };
  return p.mem;
}

function runStep(c: Int32Array, seq: number): void {
  let status = STATUS_OK;
  let node = '?';
  try {
    const program = programs.get(c[base + PROGRAM]);
    if (!program) throw new Error(`program ${c[base + PROGRAM]} is not loaded in this worker`);
    const step = program.steps[c[base + STEP]];
    if (!step) throw new Error(`step ${c[base + STEP]} has nothing to run`);
    node = step.node;
    const fault = faults.get(node);
    if (fault) {
      faults.delete(node);
      if (fault === 'throw') throw new Error(`injected fault on node '${node}'`);
      if (fault === 'exit') port.exit(3);
      if (fault === 'hang') for (const cell = new Int32Array(new SharedArrayBuffer(4)); ; ) Atomics.wait(cell, 0, 0, 1000);
    }
    const kernel = cpuKernel(step.kernel);
    if (!kernel) throw new Error(`no cpu kernel '${step.kernel}'`);
    const start = c[base + START];
    const end = c[base + END];
    const mem = program.mem ?? bind(program);
    kernel.run(step, mem, start, end, program.scratch ?? scratch.get(kernel.scratchSize?.(step, start, end) ?? 0));
  } catch (e) {
    status = STATUS_ERROR;
    const err = e instanceof Error ? e : new Error(String(e));
    port.post({ type: 'error', seq, node, message: err.message, stack: err.stack });
  }
  if (!ownsSlot(c)) return port.exit(0);
  Atomics.store(c, base + STATUS, status);
  Atomics.store(c, base + ACK, seq);
  if (Atomics.sub(c, PENDING, 1) === 1) Atomics.notify(c, PENDING);
}

/**
 * Polls the slot's sequence number for up to SPIN_MS before the worker sleeps in Atomics.wait:
 * within a run the next step usually comes within microseconds, and a sleeping thread takes
 * tens of microseconds (more on a busy machine) to wake.
 */
const SPIN_MS = 0.05;

function spinFor(c: Int32Array): number {
  const t0 = performance.now();
  for (;;) {
    for (let i = 0; i < 256; i++) {
      const seq = Atomics.load(c, base + SEQ);
      if (seq !== lastSeq) return seq;
    }
    if (performance.now() - t0 > SPIN_MS) return Atomics.load(c, base + SEQ);
  }
}

/** Waits on the control slot and runs commands until told to yield (to read a message) or quit. */
function serve(): void {
  const c = ctrl!;
  for (;;) {
    let seq = spinFor(c);
    while (seq === lastSeq && ownsSlot(c)) {
      Atomics.wait(c, base + SEQ, lastSeq);
      seq = Atomics.load(c, base + SEQ);
    }
    if (!ownsSlot(c)) return port.exit(0);
    lastSeq = seq;
    const cmd = c[base + CMD];
    if (cmd === CMD_STEP) runStep(c, seq);
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
      lastSeq = Atomics.load(ctrl, base + SEQ);
      for (const p of msg.programs) load(p);
      break;
    case 'load':
      load(msg);
      break;
    case 'unload':
      programs.delete(msg.id);
      break;
    case 'fault':
      faults.set(msg.node, msg.kind);
      break;
  }
  port.post({ type: 'ack', op: msg.type });
  serve();
});
