import type { Graph } from '@tessera/core';
import { workload, workloadGraph } from './workloads.js';

/** The ResNet-50 bottleneck block of workload W3: 1x1 256->64, 3x3 64->64, 1x1 64->256 on 56x56x256. */
export function bottleneckBlock({ seed = 1 } = {}): Graph {
  return workloadGraph(workload('W3'), seed);
}
