import type { Graph } from '@tessera/core';
import { bottleneckBlock } from './bottleneck.js';
import { seedCnn } from './seed-cnn.js';
import { WORKLOADS, workloadGraph } from './workloads.js';

export { seedCnn } from './seed-cnn.js';
export { bottleneckBlock } from './bottleneck.js';
export * from './workloads.js';

/** Examples by name, for the CLI: the seed CNN, the bottleneck block, and every benchmark workload by id. */
export const EXAMPLES: Readonly<Record<string, () => Graph>> = {
  'seed-cnn': () => seedCnn(),
  bottleneck: () => bottleneckBlock(),
  ...Object.fromEntries(WORKLOADS.map((w) => [w.id.toLowerCase(), () => workloadGraph(w)])),
};
