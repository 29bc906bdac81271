import type { Feeds, Graph, Node } from '@tessera/core';
import type { Oracle } from './oracle.js';

/*
 * TensorFlow.js (tfjs-core + tfjs-backend-cpu, float32) as the oracle: an OPTIONAL peer
 * dependency, loaded on first use. Each op is written from TensorFlow's own API (its SAME
 * padding, its strided slice), never from core's geometry, so the two cannot share a mistake.
 */

// The parts of tfjs used here, typed loosely: the package is optional, so no type import.
type T = { dataSync(): ArrayLike<number> };
interface Tf {
  setBackend(name: string): Promise<boolean>;
  tidy<R>(fn: () => R): R;
  tensor(data: Float32Array, shape: number[]): T;
  conv2d(x: T, f: T, strides: number[], pad: unknown, format: string, dilations: number[]): T;
  maxPool(x: T, ksize: number[], strides: number[], pad: string): T;
  matMul(a: T, b: T, ta: boolean, tb: boolean): T;
  add(a: T, b: T): T;
  mul(a: T, b: T): T;
  batchNorm(x: T, mean: T, variance: T, offset: T, scale: T, epsilon: number): T;
  avgPool(x: T, ksize: number[], strides: number[], pad: string): T;
  mean(x: T, axes: number[], keepDims: boolean): T;
  softmax(x: T): T;
  pad(x: T, paddings: number[][], value: number): T;
  concat(xs: T[], axis: number): T;
  transpose(x: T, perm?: number[]): T;
  relu(x: T): T;
  relu6(x: T): T;
  depthwiseConv2d(x: T, f: T, strides: number[], pad: unknown, format: string, dilations: number[]): T;
  reshape(x: T, shape: number[]): T;
  stridedSlice(x: T, begin: number[], end: number[], strides: number[]): T;
  tile(x: T, reps: number[]): T;
  expandDims(x: T, axis: number): T;
}

let loading: Promise<Tf> | undefined;

/** Loads tfjs-core with its cpu backend, or throws an error saying how to install them. */
export function loadTfjs(): Promise<Tf> {
  loading ??= (async () => {
    let tf: Tf;
    try {
      // Variables keep bundlers and tsc from resolving the optional packages statically.
      const core = '@tensorflow/tfjs-core';
      const cpu = '@tensorflow/tfjs-backend-cpu';
      tf = (await import(core)) as Tf;
      await import(cpu);
    } catch (e) {
      loading = undefined;
      throw new Error(
        `the tfjs oracle needs @tensorflow/tfjs-core and @tensorflow/tfjs-backend-cpu (optional peer dependencies of @tessera/conformance): ` +
          `install them, e.g. 'pnpm add -D @tensorflow/tfjs-core @tensorflow/tfjs-backend-cpu' (${e instanceof Error ? e.message : String(e)})`,
      );
    }
    if (!(await tf.setBackend('cpu'))) throw new Error('the tfjs oracle: the tfjs cpu backend did not start');
    return tf;
  })();
  return loading;
}

type Attrs = Record<string, unknown>;
const pair = (v: unknown): number[] => (Array.isArray(v) ? (v as number[]) : [1, 1]);

function tfPadding(p: unknown): unknown {
  if (p === 'SAME') return 'same';
  if (p === 'VALID') return 'valid';
  const [[t, b], [l, r]] = p as [[number, number], [number, number]];
  return [[0, 0], [t, b], [l, r], [0, 0]];
}

/** TensorFlow's pooling has SAME and VALID only: explicit pads have no tfjs counterpart (the oracle skips the case). */
function poolPadding(p: unknown): 'same' | 'valid' {
  if (p === 'SAME') return 'same';
  if (p === 'VALID') return 'valid';
  throw new Error('the tfjs oracle has no pooling with explicit pads');
}

/** A fused op's activation in tfjs. */
function activate(tf: Tf, y: T, activation: unknown): T {
  return activation === 'relu' ? tf.relu(y) : activation === 'relu6' ? tf.relu6(y) : y;
}

/** One node in tfjs, from its operands (tfjs tensors) and the shapes Tessera recorded. */
function runNode(tf: Tf, node: Node, xs: T[], shapeOf: (v: string) => readonly number[]): T {
  const a = node.attrs as Attrs;
  switch (node.op) {
    case 'conv2d':
    case 'fused_conv2d': {
      let y = tf.conv2d(xs[0], xs[1], pair(a.strides), tfPadding(a.padding), 'NHWC', pair(a.dilations));
      if (node.op === 'fused_conv2d') y = tf.add(y, xs[2]);
      if (xs[3]) y = tf.add(y, xs[3]);
      return node.op === 'fused_conv2d' ? activate(tf, y, a.activation) : y;
    }
    case 'depthwise_conv2d':
    case 'fused_depthwise_conv2d': {
      const y = tf.depthwiseConv2d(xs[0], xs[1], pair(a.strides), tfPadding(a.padding), 'NHWC', pair(a.dilations));
      if (node.op === 'depthwise_conv2d') return y;
      return activate(tf, tf.add(y, xs[2]), a.activation);
    }
    case 'maxpool':
      return tf.maxPool(xs[0], a.ksize as number[], pair(a.strides), poolPadding(a.padding));
    case 'avg_pool':
      return tf.avgPool(xs[0], a.ksize as number[], pair(a.strides), poolPadding(a.padding));
    case 'mean':
      return tf.mean(xs[0], a.axes as number[], a.keepdims === true);
    case 'softmax':
      return tf.softmax(xs[0]);
    case 'batch_norm':
      return tf.batchNorm(xs[0], xs[1], xs[2], xs[3], xs[4], a.epsilon as number);
    case 'add':
      return tf.add(xs[0], xs[1]);
    case 'mul':
      return tf.mul(xs[0], xs[1]);
    case 'relu6':
      return tf.relu6(xs[0]);
    case 'pad':
      return tf.pad(xs[0], a.paddings as number[][], a.value as number);
    case 'concat':
      return tf.concat(xs, a.axis as number);
    case 'transpose':
      // Absent perm: tfjs' own default (the axes reversed).
      return tf.transpose(xs[0], a.perm as number[] | undefined);
    case 'matmul':
    case 'fused_matmul': {
      const [ra, rb] = [shapeOf(node.inputs[0]).length, shapeOf(node.inputs[1]).length];
      // A rank-2 b shared by every batch of a rank-3 a: tiled, so no broadcasting rule is assumed.
      const b = ra === 3 && rb === 2 ? tf.tile(tf.expandDims(xs[1], 0), [shapeOf(node.inputs[0])[0], 1, 1]) : xs[1];
      let y = tf.matMul(xs[0], b, a.transposeA === true, a.transposeB === true);
      if (node.op === 'fused_matmul') y = tf.add(y, xs[2]);
      return node.op === 'fused_matmul' ? activate(tf, y, a.activation) : y;
    }
    case 'bias_add':
      return tf.add(xs[0], xs[1]);
    case 'relu':
      return tf.relu(xs[0]);
    case 'reshape':
      return tf.reshape(xs[0], [...node.output.shape]);
    case 'slice': {
      const { begin, size, strides } = a as { begin: number[]; size: number[]; strides: number[] };
      return tf.stridedSlice(xs[0], begin, begin.map((b, i) => b + (size[i] - 1) * strides[i] + 1), strides);
    }
    default:
      throw new Error(`the tfjs oracle has no op '${node.op}'`);
  }
}

/** Runs a whole graph in tfjs (nodes in the graph's topological order). */
export async function tfjsOracle(): Promise<Oracle> {
  const tf = await loadTfjs();
  return {
    name: 'TensorFlow.js',
    async run(graph: Graph, feeds: Feeds) {
      return tf.tidy(() => {
        const values = new Map<string, T>();
        const shapeOf = (v: string) => graph.value(v).shape;
        for (const v of graph.inputs) values.set(v.name, tf.tensor(feeds[v.name], [...v.shape]));
        for (const [name, t] of graph.constants) values.set(name, tf.tensor(t.data, [...t.shape]));
        for (const node of graph.nodes) values.set(node.output.name, runNode(tf, node, node.inputs.map((i) => values.get(i)!), shapeOf));
        return Object.fromEntries(Object.entries(graph.outputs).map(([k, v]) => [k, Float32Array.from(values.get(v)!.dataSync())]));
      });
    },
  };
}
