import type { Graph, SymbolicValue } from '@tessera/core';
import { KerasLayers, type SpatialPads } from './keras-layers.js';
import type { NetworkOptions } from './resnet50.js';

/** Keras' MobileNetV2 batch-norm epsilon. */
const EPSILON = 1e-3;

/** The 17 inverted residual blocks at alpha 1.0: output channels, stride, expansion (block ids 0-16 in order). */
const BLOCKS: readonly (readonly [filters: number, stride: number, expansion: number])[] = [
  [16, 1, 1],
  [24, 2, 6], [24, 1, 6],
  [32, 2, 6], [32, 1, 6], [32, 1, 6],
  [64, 2, 6], [64, 1, 6], [64, 1, 6], [64, 1, 6],
  [96, 1, 6], [96, 1, 6], [96, 1, 6],
  [160, 2, 6], [160, 1, 6], [160, 1, 6],
  [320, 1, 6],
];

/**
 * Keras' `correct_pad` for a 3x3 stride-2 window: one row / column after, and one before too
 * when the size is odd, so the VALID depthwise conv that follows sees every pixel.
 */
function correctPad(height: number, width: number): SpatialPads {
  return [[height % 2, 1], [width % 2, 1]];
}

/** 1x1 conv without bias, then batch norm (`<name>`, `<name>_BN`, as Keras names the expand and project layers). */
function pointwise(k: KerasLayers, x: SymbolicValue, name: string, filters: number): SymbolicValue {
  return k.batchNorm(k.conv(x, name, { filters, kernel: 1, padding: 'SAME', bias: false }), `${name}_BN`, EPSILON);
}

/**
 * An inverted residual block (Keras' `_inverted_res_block`): a 1x1 expansion (none in block 0),
 * a 3x3 depthwise conv (stride 2 after a correct_pad ZeroPadding2D, VALID; else SAME), a linear
 * 1x1 projection, and the block's input added where shapes allow (stride 1, same channels).
 */
function invertedResidual(k: KerasLayers, input: SymbolicValue, id: number, [filters, stride, expansion]: readonly [number, number, number]): SymbolicValue {
  const prefix = id === 0 ? 'expanded_conv_' : `block_${id}_`;
  const cin = input.shape[3];
  let x = input;
  if (id !== 0) x = k.activation(pointwise(k, x, `${prefix}expand`, expansion * cin), `${prefix}expand_relu`, 'relu6');
  if (stride === 2) x = k.zeroPad(x, `${prefix}pad`, correctPad(x.shape[1], x.shape[2]));
  x = k.depthwise(x, `${prefix}depthwise`, { kernel: 3, strides: stride, padding: stride === 1 ? 'SAME' : 'VALID' });
  x = k.activation(k.batchNorm(x, `${prefix}depthwise_BN`, EPSILON), `${prefix}depthwise_relu`, 'relu6');
  x = pointwise(k, x, `${prefix}project`, filters);
  return cin === filters && stride === 1 ? k.add(input, x, `${prefix}add`) : x;
}

/**
 * MobileNetV2 at alpha 1.0 as Keras' `tf.keras.applications.MobileNetV2` builds it, layer for
 * layer and with its layer names: a 3x3/2 SAME conv to 32 channels, 17 inverted residual blocks,
 * a 1x1 conv to 1280, global average pool, Dense + softmax. Convs have no biases, batch norms
 * epsilon 1e-3, activations ReLU6. At 224x224x3 and 1000 classes: 3,538,984 parameters, as Keras'
 * summary counts them. Weights: KerasLayers.
 */
export function mobilenetV2({ batch = 1, size = 224, classes = 1000, seed = 1 }: NetworkOptions = {}): Graph {
  const k = new KerasLayers('mobilenet_v2', seed);
  let x = k.input('x', [batch, size, size, 3]);
  x = k.conv(x, 'Conv1', { filters: 32, kernel: 3, strides: 2, padding: 'SAME', bias: false });
  x = k.activation(k.batchNorm(x, 'bn_Conv1', EPSILON), 'Conv1_relu', 'relu6');
  BLOCKS.forEach((block, id) => (x = invertedResidual(k, x, id, block)));
  x = k.conv(x, 'Conv_1', { filters: 1280, kernel: 1, padding: 'VALID', bias: false });
  x = k.activation(k.batchNorm(x, 'Conv_1_bn', EPSILON), 'out_relu', 'relu6');
  x = k.globalAveragePool(x, 'global_average_pooling2d');
  return k.build('predictions', k.denseSoftmax(x, 'predictions', classes));
}
