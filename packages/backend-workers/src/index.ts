import { defaultContainer, registerBackend } from '@tessera/runtime';
import { WorkersBackend, type WorkersBackendOptions } from './backend.js';

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
  registerBackend(container, name, () => new WorkersBackend({ ...options, name }), 'the cpu kernels on a pool of worker threads over shared memory');
}

registerWorkersBackend(defaultContainer);

export { WorkersBackend, type WorkersBackendOptions } from './backend.js';
export { liveWorkerCount } from './host.js';
export { partitionStep, stepCost, MAIN, type Part, type PartitionOptions } from './partition.js';
export type { FaultKind } from './protocol.js';
