import type { Graph } from '@tessera/core';
import { bottleneckBlock } from './bottleneck.js';
import { mobilenetV2 } from './mobilenet-v2.js';
import { resnet50 } from './resnet50.js';
import { seedCnn } from './seed-cnn.js';
import { WORKLOADS, workloadGraph } from './workloads.js';

export { seedCnn } from './seed-cnn.js';
export { bottleneckBlock } from './bottleneck.js';
export { resnet50, type NetworkOptions } from './resnet50.js';
export { mobilenetV2 } from './mobilenet-v2.js';
export { KerasLayers } from './keras-layers.js';
export * from './workloads.js';

/** Examples by name, for the CLI: the seed CNN, the bottleneck block, ResNet-50, MobileNetV2, and every benchmark workload by id. */
export const EXAMPLES: Readonly<Record<string, () => Graph>> = {
  'seed-cnn': () => seedCnn(),
  bottleneck: () => bottleneckBlock(),
  resnet50: () => resnet50(),
  mobilenet_v2: () => mobilenetV2(),
  ...Object.fromEntries(WORKLOADS.map((w) => [w.id.toLowerCase(), () => workloadGraph(w)])),
};
