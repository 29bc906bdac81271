/**
 * What the main thread and the workers share: the layout of the control block (an Int32Array
 * over a SharedArrayBuffer, one per pool) and the messages they exchange.
 *
 * Steps are dispatched through shared memory only: the main thread writes a command into a
 * worker's slot, bumps the slot's sequence number and notifies it; the worker runs the command,
 * writes its status and acknowledgement, and decrements PENDING (the last one notifies the main
 * thread). Messages (postMessage) carry what is rare and large: programs, faults for tests, and
 * error details. A worker only reads messages after a YIELD command (it otherwise waits in
 * Atomics.wait, which is what makes a step dispatch cost microseconds).
 */
import type { WasmThreadScratch } from '@tessera/backend-cpu/kernels';
import type { Schedule } from './types.js';

/** Int32 index of the count of workers still running the current step. */
export const PENDING = 0;
/** Whole-run dispatch (CMD_RUN): arrivals at the barriers between steps, counted up from 0 per run. */
export const BARRIER = 1;
/** Whole-run dispatch: set to 1 (and BARRIER notified) when the run fails; workers leave their barrier. */
export const ABORT = 2;
/** Whole-run dispatch: participants (workers, plus the calling thread when it shares the work); each runs every barrier. */
export const RUN_WORKERS = 3;
/** Whole-run dispatch: 1 when the calling thread takes part (runs parts of MAIN and claims chunks), else 0. */
export const RUN_MAIN = 6;
/**
 * Whole-run dispatch: chunk counters of split steps (two, by parity of the step's position in the
 * run). Workers claim chunks with Atomics.add, so a worker on a slower core takes fewer; the last
 * worker at the barrier after a step resets its counter (the next user is two steps later).
 */
export const CLAIM = 4;
/** Ints per worker slot: 16 ints = 64 bytes, one cache line, so slots never share one. */
export const SLOT_INTS = 16;
/** First int of worker `w`'s slot. */
export const slotBase = (w: number): number => SLOT_INTS * (w + 1);

/** Offsets inside a slot. */
export const SEQ = 0; // bumped by the main thread for every command
export const CMD = 1;
export const PROGRAM = 2;
export const STEP = 3;
export const START = 4;
export const END = 5;
export const STATUS = 6; // written by the worker: STATUS_OK / STATUS_ERROR
export const ACK = 7; // written by the worker: the SEQ of the last command it finished
/**
 * Which worker owns the slot: the pool writes a fresh token before it starts a worker and 0 when
 * it stops one. A replaced worker that is still alive (terminate() is not instantaneous) sees the
 * token change and leaves without touching the slot, so it cannot take a command meant for its
 * replacement or count itself into PENDING.
 */
export const OWNER = 8;
/** Whole-run dispatch: node index of the step the worker runs now (for errors naming the node). */
export const CURRENT = 9;

export const CMD_STEP = 1;
export const CMD_YIELD = 2;
export const CMD_QUIT = 3;
/** Run every step of a program, with a barrier among the workers after each step (see dispatch.ts runProgram). */
export const CMD_RUN = 4;

export const STATUS_OK = 0;
export const STATUS_ERROR = 1;

export function controlInts(workers: number): number {
  return SLOT_INTS * (workers + 1);
}

/** A Float32Array over shared memory, as posted: the worker makes the view. */
export interface SharedRegion {
  readonly byteOffset: number;
  readonly length: number;
}

/**
 * The memory of a program compiled for the wasm SIMD GEMM: one shared WebAssembly.Memory holds
 * the arena, the weights and one scratch region per thread. Each worker instantiates `module`
 * on `memory` and uses the scratch of its slot (`scratch[index]`); the main thread has its own.
 */
export interface WasmProgramMemory {
  readonly kind: 'wasm';
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly arena: SharedRegion;
  readonly weights: SharedRegion;
  /** By worker slot index: where that worker's GEMM scratch and kernel scratch are. */
  readonly scratch: readonly WasmThreadScratch[];
}

/** The memory of a program on the JS kernels: two SharedArrayBuffers; workers grow their own scratch. */
export interface JsProgramMemory {
  readonly kind: 'js';
  readonly arena: SharedArrayBuffer;
  readonly weights: SharedArrayBuffer;
}

/** A compiled program as the workers receive it: its schedule (plain data) and the shared memory. */
export interface ProgramMessage {
  readonly type: 'load';
  readonly id: number;
  /** Steps, parts, chains, order and chunks (schedule.ts); a part of the main thread (MAIN) is run by worker 0 when the caller does not share. */
  readonly schedule: Schedule;
  readonly memory: WasmProgramMemory | JsProgramMemory;
}

/** Test hook: make a worker fail when it runs a given node. */
export type FaultKind = 'throw' | 'exit' | 'hang';

export type ToWorker =
  | {
      readonly type: 'init';
      readonly index: number;
      readonly owner: number;
      readonly control: SharedArrayBuffer;
      readonly programs: readonly ProgramMessage[];
      /** How long the worker polls for its next command before it sleeps. */
      readonly spinMs: number;
      /** Where the worker records its spans of whole runs (timeline.ts), when the pool keeps a timeline. */
      readonly timeline: { readonly buffer: SharedArrayBuffer; readonly workers: number } | null;
    }
  | ProgramMessage
  | { readonly type: 'unload'; readonly id: number }
  | { readonly type: 'fault'; readonly node: string; readonly kind: FaultKind };

export type FromWorker =
  | { readonly type: 'ack'; readonly op: string }
  | { readonly type: 'error'; readonly seq: number; readonly node: string; readonly message: string; readonly stack?: string };
