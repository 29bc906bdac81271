/**
 * What a program needs in memory, checked before anything is allocated: a graph too large for a
 * typed array is refused with the sizes, and a graph too large for one WebAssembly memory says
 * so in the executable's `gemmReason` instead of switching to the JS kernels unannounced.
 */
import { TesseraError } from '@tessera/core';
import { WASM_MAX_BYTES } from './kernels/wasm/arena.js';

/** The longest Float32Array V8 makes (elements): a longer one throws a bare RangeError. */
export const MAX_ARRAY_FLOATS = 2 ** 32;

/** Floats of a program's two memories. */
export interface ProgramSizes {
  readonly arenaSize: number;
  readonly weightsSize: number;
}

const MiB = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** Refuses a program whose arena or weights no Float32Array can hold, naming graph and backend. */
export function checkArrayLimits(graph: string, backend: string, sizes: ProgramSizes): void {
  for (const [what, floats] of [['arena', sizes.arenaSize], ['weights', sizes.weightsSize]] as const) {
    if (floats > MAX_ARRAY_FLOATS) {
      throw new TesseraError(
        `graph '${graph}' on backend '${backend}' needs ${4 * floats} bytes (${MiB(4 * floats)}) of ${what}, the limit is ${4 * MAX_ARRAY_FLOATS} bytes (${MiB(4 * MAX_ARRAY_FLOATS)}, the longest Float32Array)`,
      );
    }
  }
}

/** Runs `alloc`; an allocation failure (the machine is out of memory) becomes an error with the sizes. */
export function allocating<T>(graph: string, backend: string, bytes: number, alloc: () => T): T {
  try {
    return alloc();
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new TesseraError(`graph '${graph}' on backend '${backend}': could not allocate ${bytes} bytes (${MiB(bytes)}) of arena and weights (${e.message})`);
  }
}

/** Why a program whose WebAssembly memory could not be made runs the JS kernels. */
export function wasmMemoryReason(bytes: number): string {
  return bytes > WASM_MAX_BYTES
    ? `the graph needs ${bytes} bytes (${MiB(bytes)}) in one WebAssembly memory, the limit is ${WASM_MAX_BYTES} bytes (${MiB(WASM_MAX_BYTES)})`
    : `a WebAssembly memory of ${bytes} bytes (${MiB(bytes)}) could not be allocated`;
}

/** Why an executable runs the JS kernels when no wasm module was loaded. */
export function noWasmReason(gemm: 'auto' | 'js' | 'wasm', what = 'WebAssembly SIMD'): string {
  return gemm === 'js' ? "the backend was created with gemm: 'js'" : `${what} is not available in this runtime`;
}
