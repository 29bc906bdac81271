import { defaultContainer, registerBackend } from '@tessera/runtime';
import { WorkersBackend, workersGemmPath, type WorkersBackendOptions } from './backend.js';

type Container = Parameters<typeof registerBackend>[0];

/** A workers backend with its own pool (call `dispose()` to stop its workers). */
export function createWorkersBackend(options: WorkersBackendOptions = {}): WorkersBackend {
  return new WorkersBackend(options);
}

/**
 * Registers a workers backend under `options.name` (default 'workers') in a container; the pool
 * starts when the first session asks for the backend and is shared by the container's sessions.
 */
export function registerWorkersBackend(container: Container = defaultContainer, options: WorkersBackendOptions = {}): void {
  const name = options.name ?? 'workers';
  const path = options.gemm === 'js' ? 'js' : workersGemmPath();
  registerBackend(
    container,
    name,
    () => new WorkersBackend({ ...options, name }),
    path === 'wasm-simd'
      ? 'the cpu kernels (WebAssembly SIMD GEMM) on a pool of worker threads over one shared WebAssembly.Memory'
      : 'the cpu kernels (TypeScript GEMM) on a pool of worker threads over SharedArrayBuffers',
  );
}

registerWorkersBackend(defaultContainer);

export { WorkersBackend, workersGemmPath, type WorkersBackendOptions, type WorkersGemmPath } from './backend.js';
export { liveWorkerCount } from './host.js';
export { partitionStep, stepCost, rereadCost, MAIN, WASM_GEMM_WEIGHT, SIMD_DEPTHWISE_WEIGHT, LEAST_CHUNK_DIVISOR, type PartitionOptions } from './partition.js';
export { chainWork, chunkBounds, evenChunks, guidedChunks, predictedWall, type ChunkWork } from './chunks.js';
export { chainSpans, chainSteps } from './chain.js';
export { chainTiles } from './tile.js';
export type { ChainTiles, Part, TileRegion } from './types.js';
export type { FaultKind } from './protocol.js';
export { threadTotals, type Span, type ThreadTotal, type TimelineRun } from './timeline.js';
