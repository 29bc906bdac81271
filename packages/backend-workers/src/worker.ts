/**
 * The worker: receives programs (plain-data steps + shared memories) once, then waits on its
 * control slot and runs ranges of steps with the cpu backend's kernels. Runs in a Node worker
 * thread and in a browser module Web Worker alike.
 */
import { cpuKernel, Scratch, type Memory, type Step } from '@tessera/backend-cpu';
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
  readonly mem: Memory;
}

const port = await openPort();
const programs = new Map<number, Loaded>();
const faults = new Map<string, FaultKind>();
const scratch = new Scratch();
let ctrl: Int32Array | null = null;
let base = 0;
let lastSeq = 0;
let owner = 0;

/** False once the pool has given this worker's slot to a replacement. */
const ownsSlot = (c: Int32Array): boolean => Atomics.load(c, base + OWNER) === owner;

function load(msg: ProgramMessage): void {
  programs.set(msg.id, {
    steps: msg.steps as (Step | null)[],
    mem: { arena: new Float32Array(msg.arena), weights: new Float32Array(msg.weights) },
  });
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
    kernel.run(step, program.mem, start, end, scratch.get(kernel.scratchSize?.(step, start, end) ?? 0));
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

/** Waits on the control slot and runs commands until told to yield (to read a message) or quit. */
function serve(): void {
  const c = ctrl!;
  for (;;) {
    let seq = Atomics.load(c, base + SEQ);
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
