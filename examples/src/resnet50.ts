import type { Graph, SymbolicValue } from '@tessera/core';
import { KerasLayers } from './keras-layers.js';

export interface NetworkOptions {
  batch?: number;
  /** Height and width of the (square) input image. */
  size?: number;
  classes?: number;
  seed?: number;
}

/** Keras' ResNet50 batch-norm epsilon. */
const EPSILON = 1.001e-5;

/** The four stages: bottleneck width, blocks, and the stride of each stage's first block. */
const STAGES = [
  { name: 'conv2', filters: 64, blocks: 3, stride: 1 },
  { name: 'conv3', filters: 128, blocks: 4, stride: 2 },
  { name: 'conv4', filters: 256, blocks: 6, stride: 2 },
  { name: 'conv5', filters: 512, blocks: 3, stride: 2 },
] as const;

/**
 * conv (with bias; Keras' default VALID padding unless `same`), batch norm, and a relu unless
 * `relu` is false: Keras names `<name>_conv`, `<name>_bn`, `<name>_relu`.
 */
function convBn(k: KerasLayers, x: SymbolicValue, name: string, filters: number, kernel: number, strides: number, { relu = true, same = false } = {}): SymbolicValue {
  const padding = same ? 'SAME' : 'VALID';
  const y = k.batchNorm(k.conv(x, `${name}_conv`, { filters, kernel, strides, padding, bias: true }), `${name}_bn`, EPSILON);
  return relu ? k.activation(y, `${name}_relu`, 'relu') : y;
}

/**
 * One bottleneck block (ResNet v1, as Keras' `block1`): 1x1 (carrying the block's stride), 3x3,
 * 1x1 to 4 x filters; the shortcut is a strided 1x1 conv + batch norm on a stage's first block,
 * the block's input on the others; then add and relu.
 */
function bottleneck(k: KerasLayers, x: SymbolicValue, name: string, filters: number, stride: number, convShortcut: boolean): SymbolicValue {
  const shortcut = convShortcut ? convBn(k, x, `${name}_0`, 4 * filters, 1, stride, { relu: false }) : x;
  let y = convBn(k, x, `${name}_1`, filters, 1, stride);
  y = convBn(k, y, `${name}_2`, filters, 3, 1, { same: true });
  y = convBn(k, y, `${name}_3`, 4 * filters, 1, 1, { relu: false });
  return k.activation(k.add(shortcut, y, `${name}_add`), `${name}_out`, 'relu');
}

/**
 * ResNet-50 (v1) as Keras' `tf.keras.applications.ResNet50` builds it, layer for layer and with
 * its layer names: ZeroPadding2D(3), 7x7/2 conv, batch norm, relu, ZeroPadding2D(1), 3x3/2 max
 * pool, 16 bottleneck blocks in four stages, global average pool, Dense + softmax. Convs have
 * biases; batch-norm epsilon 1.001e-5. At 224x224x3 and 1000 classes: 25,636,712 parameters,
 * as Keras' summary counts them (batch-norm statistics included). Weights: KerasLayers.
 */
export function resnet50({ batch = 1, size = 224, classes = 1000, seed = 1 }: NetworkOptions = {}): Graph {
  const k = new KerasLayers('resnet50', seed);
  let x = k.input('x', [batch, size, size, 3]);
  x = k.zeroPad(x, 'conv1_pad', [[3, 3], [3, 3]]);
  x = convBn(k, x, 'conv1', 64, 7, 2);
  x = k.zeroPad(x, 'pool1_pad', [[1, 1], [1, 1]]);
  x = k.maxPool(x, 'pool1_pool', 3, 2);
  for (const stage of STAGES) {
    for (let b = 1; b <= stage.blocks; b++) {
      x = bottleneck(k, x, `${stage.name}_block${b}`, stage.filters, b === 1 ? stage.stride : 1, b === 1);
    }
  }
  x = k.globalAveragePool(x, 'avg_pool');
  return k.build('predictions', k.denseSoftmax(x, 'predictions', classes));
}
