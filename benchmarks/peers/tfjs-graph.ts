/**
 * A Tessera graph in TensorFlow.js ops, node by node: the benchmarks' peer, in Node and in the
 * browser (this file imports tfjs-core only; the caller picks tfjs' backend). Every op Tessera
 * has maps to its tfjs op, the fused ones the passes create too (fused_conv2d ->
 * tf.fused.conv2d with bias and activation, fused_depthwise_conv2d -> tf.fused.depthwiseConv2d,
 * fused_matmul -> tf.fused.matMul), so the peer runs the same optimized graph as Tessera: folded
 * and fused, as tfjs' converter makes a Keras model.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Graph, Node } from '@tessera/core';

type Explicit = [[number, number], [number, number]];
type TfPadding = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
type Activation = 'none' | 'relu' | 'relu6';

/** Tessera's padding in tfjs' spelling: 'same' / 'valid', or explicit pads per NHWC axis. */
function tfjsPadding(p: 'SAME' | 'VALID' | Explicit): TfPadding {
  if (p === 'SAME') return 'same';
  if (p === 'VALID') return 'valid';
  return [[0, 0], p[0], p[1], [0, 0]];
}

/** A fused op's activation: `activation` ('none' | 'relu' | 'relu6'), or the older `relu` flag. */
function activationOf(attrs: Record<string, unknown>): Activation {
  return attrs['activation'] as Activation;
}
const tfActivation = (a: Activation): 'linear' | 'relu' | 'relu6' => (a === 'none' ? 'linear' : a);

function activate(x: tf.Tensor, a: Activation): tf.Tensor {
  return a === 'relu' ? tf.relu(x) : a === 'relu6' ? tf.relu6(x) : x;
}

/**
 * fused_conv2d / fused_depthwise_conv2d: conv + bias + activation in one tfjs fused op; with a 4th
 * operand (a residual) the activation comes after the residual's add (tfjs' fused ops have no residual).
 */
function fusedConv(n: Node, a: tf.Tensor[], at: Record<string, never>, depthwise: boolean): tf.Tensor {
  const activation = activationOf(at);
  const residual = a[3];
  // tfjs' fused ops take 'same' / 'valid' only: explicit pads (a folded pad op) go back to a tf.pad.
  const padding = tfjsPadding(at['padding']);
  const x = Array.isArray(padding) ? tf.pad(a[0], padding) : a[0];
  const args = {
    x: x as tf.Tensor4D, filter: a[1] as tf.Tensor4D, strides: at['strides'], pad: Array.isArray(padding) ? ('valid' as const) : padding,
    dilations: at['dilations'], bias: a[2], activation: tfActivation(residual ? 'none' : activation),
  };
  const y = depthwise ? tf.fused.depthwiseConv2d(args) : tf.fused.conv2d(args);
  return residual ? activate(tf.add(y, residual), activation) : y;
}

/** One node's output from its operands' tensors. */
function runNode(n: Node, a: tf.Tensor[]): tf.Tensor {
  const at = n.attrs as Record<string, never>;
  switch (n.op) {
    case 'conv2d':
      return tf.conv2d(a[0] as tf.Tensor4D, a[1] as tf.Tensor4D, at['strides'], tfjsPadding(at['padding']), 'NHWC', at['dilations']);
    case 'depthwise_conv2d':
      return tf.depthwiseConv2d(a[0] as tf.Tensor4D, a[1] as tf.Tensor4D, at['strides'], tfjsPadding(at['padding']), 'NHWC', at['dilations']);
    case 'fused_conv2d':
      return fusedConv(n, a, at, false);
    case 'fused_depthwise_conv2d':
      return fusedConv(n, a, at, true);
    case 'bias_add':
    case 'add':
      return tf.add(a[0], a[1]);
    case 'mul':
      return tf.mul(a[0], a[1]);
    case 'relu':
      return tf.relu(a[0]);
    case 'relu6':
      return tf.relu6(a[0]);
    case 'batch_norm':
      return tf.batchNorm(a[0], a[1], a[2], a[3], a[4], at['epsilon']);
    case 'maxpool':
      return tf.maxPool(a[0] as tf.Tensor4D, at['ksize'], at['strides'], tfjsPadding(at['padding']) as 'same');
    case 'avg_pool':
      return tf.avgPool(a[0] as tf.Tensor4D, at['ksize'], at['strides'], tfjsPadding(at['padding']) as 'same');
    case 'mean':
      return tf.mean(a[0], at['axes'], at['keepdims']);
    case 'softmax':
      return tf.softmax(a[0]);
    case 'pad':
      return tf.pad(a[0], at['paddings'], at['value']);
    case 'concat':
      return tf.concat(a, at['axis']);
    case 'reshape':
      return tf.reshape(a[0], at['shape']);
    case 'transpose':
      return tf.transpose(a[0], at['perm']);
    case 'slice':
      return tf.stridedSlice(a[0], at['begin'], (at['begin'] as number[]).map((b, i) => b + (at['size'] as number[])[i] * (at['strides'] as number[])[i]), at['strides']);
    case 'matmul':
      return tf.matMul(a[0], a[1], at['transposeA'], at['transposeB']);
    case 'fused_matmul':
      return tf.fused.matMul({ a: a[0], b: a[1], transposeA: at['transposeA'], transposeB: at['transposeB'], bias: a[2], activation: tfActivation(activationOf(at)) });
    default:
      throw new Error(`benchmark peer: node '${n.name}' (op ${n.op}) is not mapped to tfjs`);
  }
}

/**
 * The graph in tfjs, with its constants uploaded once (on tfjs' current backend) and a forward
 * pass from the single input tensor to the first output. Call `forward` inside tf.tidy.
 */
export function tfjsGraph(graph: Graph): { forward: (x: tf.Tensor) => tf.Tensor; dispose: () => void } {
  const consts = new Map([...graph.constants].map(([name, t]) => [name, tf.tensor(t.data, [...t.shape])]));
  const input = graph.inputs[0].name;
  const outName = Object.values(graph.outputs)[0];
  const forward = (x: tf.Tensor): tf.Tensor => {
    const values = new Map<string, tf.Tensor>([[input, x], ...consts]);
    for (const n of graph.nodes) values.set(n.name, runNode(n, n.inputs.map((i) => values.get(i)!)));
    return values.get(outName)!;
  };
  return { forward, dispose: () => consts.forEach((t) => t.dispose()) };
}
