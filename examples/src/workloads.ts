import { GraphBuilder, randomTensor, type Graph, type Padding } from '@tessera/core';
import { mobilenetV2 } from './mobilenet-v2.js';
import { resnet50, type NetworkOptions } from './resnet50.js';
import workloadFile from './workloads.json' with { type: 'json' };

/** One layer of a benchmark workload (workloads.json beside this file). */
export type WorkloadLayer =
  | { op: 'conv2d'; filter: number[]; strides: [number, number]; padding: 'SAME' | 'VALID'; bias: boolean; relu: boolean }
  | { op: 'maxpool'; ksize: [number, number]; strides: [number, number]; padding: 'SAME' | 'VALID' }
  | { op: 'reshape'; shape: number[] }
  | { op: 'matmul'; weights: number[]; bias: boolean }
  /** The workload's input added to the current value (a residual block's identity shortcut), then relu if asked. */
  | { op: 'add_input'; relu: boolean };

/** The networks a workload can name (examples/src): built at the workload's batch and image size. */
export const NETWORKS = { resnet50, mobilenet_v2: mobilenetV2 } as const satisfies Record<string, (o: NetworkOptions) => Graph>;

interface WorkloadBase {
  id: string;
  name: string;
  input: number[];
  /** 2 x multiply-accumulates / 1e9 (core's summary). */
  gflop: number;
}
/** A workload given layer by layer, or a whole network by name (input [batch, size, size, 3]). */
export type Workload = (WorkloadBase & { layers: WorkloadLayer[] }) | (WorkloadBase & { network: keyof typeof NETWORKS });

export const WORKLOADS: readonly Workload[] = (workloadFile as { workloads: Workload[] }).workloads;

export function workload(id: string): Workload {
  const w = WORKLOADS.find((x) => x.id.toLowerCase() === id.toLowerCase());
  if (!w) throw new Error(`unknown workload '${id}' (known: ${WORKLOADS.map((x) => x.id).join(', ')})`);
  return w;
}

/**
 * A workload as a graph: a network's builder, or layer by layer, unfused (conv2d -> bias_add ->
 * relu), with the data the workload file prescribes: filters scaled by 2/sqrt(kh*kw*cin), matmul weights by
 * 2/sqrt(k), biases in [-0.1, 0.1].
 */
export function workloadGraph(w: Workload, seed = 1): Graph {
  if ('network' in w) return NETWORKS[w.network]({ batch: w.input[0], size: w.input[1], seed });
  const g = new GraphBuilder(w.id);
  const input = g.input('x', w.input);
  let x = input;
  w.layers.forEach((layer, i) => {
    const name = `l${i}_${layer.op}`;
    const s = seed + 10 * i;
    switch (layer.op) {
      case 'conv2d': {
        const [kh, kw, cin] = layer.filter;
        const f = g.constant(`${name}/filter`, randomTensor(layer.filter, s, 2 / Math.sqrt(kh * kw * cin)));
        x = g.conv2d(x, f, { strides: layer.strides, padding: layer.padding as Padding, name });
        if (layer.bias) x = g.biasAdd(x, g.constant(`${name}/bias`, randomTensor([layer.filter[3]], s + 1, 0.1)), { name: `${name}/bias_add` });
        if (layer.relu) x = g.relu(x, { name: `${name}/relu` });
        break;
      }
      case 'maxpool':
        x = g.maxpool(x, { ksize: layer.ksize, strides: layer.strides, padding: layer.padding, name });
        break;
      case 'reshape':
        x = g.reshape(x, layer.shape, { name });
        break;
      case 'matmul': {
        const wt = g.constant(`${name}/weights`, randomTensor(layer.weights, s, 2 / Math.sqrt(layer.weights[0])));
        x = g.matmul(x, wt, { name });
        if (layer.bias) x = g.biasAdd(x, g.constant(`${name}/bias`, randomTensor([layer.weights[1]], s + 1, 0.1)), { name: `${name}/bias_add` });
        break;
      }
      case 'add_input':
        x = g.add(x, input, { name });
        if (layer.relu) x = g.relu(x, { name: `${name}/relu` });
        break;
    }
  });
  return g.build({ y: x });
}
