/**
 * ResNet50 and MobileNetV2 written a second time, in TensorFlow.js ops, from Keras' architecture
 * (keras/src/applications/resnet.py, mobilenet_v2.py) and not from Tessera's graph: the weights are
 * looked up by Keras' variable names, and every Keras layer's output is recorded under the layer's
 * name, so a test can hold Tessera's builders against it layer by layer.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';

/** A weight by Keras variable name (`conv1_conv/kernel`, `conv1_bn/gamma`, ...). */
export type Weights = (name: string) => tf.Tensor;

/** The network's forward pass; `layers` receives every Keras layer's output by layer name. */
class KerasInTfjs {
  readonly layers = new Map<string, Float32Array>();
  constructor(private readonly w: Weights) {}

  private out<T extends tf.Tensor>(name: string, t: T): T {
    if (this.layers.has(name)) throw new Error(`layer ${name} twice`);
    this.layers.set(name, Float32Array.from(t.dataSync()));
    return t;
  }

  zeroPad(x: tf.Tensor4D, name: string, rows: [number, number], cols: [number, number]): tf.Tensor4D {
    return this.out(name, tf.pad(x, [[0, 0], rows, cols, [0, 0]]));
  }
  conv(x: tf.Tensor4D, name: string, strides: number, padding: 'same' | 'valid', bias: boolean): tf.Tensor4D {
    const y = tf.conv2d(x, this.w(`${name}/kernel`) as tf.Tensor4D, strides, padding);
    return this.out(name, bias ? tf.add(y, this.w(`${name}/bias`)) : y);
  }
  depthwise(x: tf.Tensor4D, name: string, strides: number, padding: 'same' | 'valid'): tf.Tensor4D {
    return this.out(name, tf.depthwiseConv2d(x, this.w(`${name}/depthwise_kernel`) as tf.Tensor4D, strides, padding));
  }
  batchNorm(x: tf.Tensor4D, name: string, epsilon: number): tf.Tensor4D {
    const w = (v: string) => this.w(`${name}/${v}`) as tf.Tensor1D;
    return this.out(name, tf.batchNorm(x, w('moving_mean'), w('moving_variance'), w('beta'), w('gamma'), epsilon));
  }
  relu(x: tf.Tensor4D, name: string): tf.Tensor4D {
    return this.out(name, tf.relu(x));
  }
  relu6(x: tf.Tensor4D, name: string): tf.Tensor4D {
    return this.out(name, tf.relu6(x));
  }
  add(a: tf.Tensor4D, b: tf.Tensor4D, name: string): tf.Tensor4D {
    return this.out(name, tf.add(a, b));
  }
  maxPool(x: tf.Tensor4D, name: string): tf.Tensor4D {
    return this.out(name, tf.maxPool(x, 3, 2, 'valid'));
  }
  globalAveragePool(x: tf.Tensor4D, name: string): tf.Tensor2D {
    return this.out(name, tf.mean(x, [1, 2]));
  }
  denseSoftmax(x: tf.Tensor2D, name: string): tf.Tensor2D {
    return this.out(name, tf.softmax(tf.add(tf.matMul(x, this.w(`${name}/kernel`) as tf.Tensor2D), this.w(`${name}/bias`))) as tf.Tensor2D);
  }
}

/** Keras' ResNet50 (v1): every layer's output by Keras layer name. */
export function resnet50Tfjs(input: tf.Tensor4D, w: Weights): Map<string, Float32Array> {
  const k = new KerasInTfjs(w);
  tf.tidy(() => {
    const eps = 1.001e-5;
    let x = k.zeroPad(input, 'conv1_pad', [3, 3], [3, 3]);
    x = k.relu(k.batchNorm(k.conv(x, 'conv1_conv', 2, 'valid', true), 'conv1_bn', eps), 'conv1_relu');
    x = k.maxPool(k.zeroPad(x, 'pool1_pad', [1, 1], [1, 1]), 'pool1_pool');
    const stages: [number, number, number][] = [[64, 3, 1], [128, 4, 2], [256, 6, 2], [512, 3, 2]];
    stages.forEach(([, blocks, stride1], s) => {
      for (let b = 1; b <= blocks; b++) {
        const name = `conv${s + 2}_block${b}`;
        const stride = b === 1 ? stride1 : 1;
        const shortcut = b === 1 ? k.batchNorm(k.conv(x, `${name}_0_conv`, stride, 'valid', true), `${name}_0_bn`, eps) : x;
        let y = k.relu(k.batchNorm(k.conv(x, `${name}_1_conv`, stride, 'valid', true), `${name}_1_bn`, eps), `${name}_1_relu`);
        y = k.relu(k.batchNorm(k.conv(y, `${name}_2_conv`, 1, 'same', true), `${name}_2_bn`, eps), `${name}_2_relu`);
        y = k.batchNorm(k.conv(y, `${name}_3_conv`, 1, 'valid', true), `${name}_3_bn`, eps);
        x = k.relu(k.add(shortcut, y, `${name}_add`), `${name}_out`);
      }
    });
    k.denseSoftmax(k.globalAveragePool(x, 'avg_pool'), 'predictions');
  });
  return k.layers;
}

/** Keras' MobileNetV2 at alpha 1.0: every layer's output by Keras layer name. */
export function mobilenetV2Tfjs(input: tf.Tensor4D, w: Weights): Map<string, Float32Array> {
  const k = new KerasInTfjs(w);
  tf.tidy(() => {
    const eps = 1e-3;
    let x = k.relu6(k.batchNorm(k.conv(input, 'Conv1', 2, 'same', false), 'bn_Conv1', eps), 'Conv1_relu');
    // (filters, stride, expansion) of blocks 0-16, from Keras' MobileNetV2 body.
    const blocks = [[16, 1, 1], [24, 2, 6], [24, 1, 6], [32, 2, 6], [32, 1, 6], [32, 1, 6], [64, 2, 6], [64, 1, 6], [64, 1, 6], [64, 1, 6],
      [96, 1, 6], [96, 1, 6], [96, 1, 6], [160, 2, 6], [160, 1, 6], [160, 1, 6], [320, 1, 6]];
    blocks.forEach(([filters, stride], id) => {
      const p = id === 0 ? 'expanded_conv_' : `block_${id}_`;
      const inC = x.shape[3];
      let y = x;
      if (id > 0) y = k.relu6(k.batchNorm(k.conv(y, `${p}expand`, 1, 'same', false), `${p}expand_BN`, eps), `${p}expand_relu`);
      if (stride === 2) {
        // correct_pad: (0, 1) on an even side, (1, 1) on an odd one.
        const side = (n: number): [number, number] => [n % 2 === 0 ? 0 : 1, 1];
        y = k.zeroPad(y, `${p}pad`, side(y.shape[1]), side(y.shape[2]));
      }
      y = k.depthwise(y, `${p}depthwise`, stride, stride === 1 ? 'same' : 'valid');
      y = k.relu6(k.batchNorm(y, `${p}depthwise_BN`, eps), `${p}depthwise_relu`);
      y = k.batchNorm(k.conv(y, `${p}project`, 1, 'same', false), `${p}project_BN`, eps);
      x = stride === 1 && inC === filters ? k.add(x, y, `${p}add`) : y;
    });
    x = k.relu6(k.batchNorm(k.conv(x, 'Conv_1', 1, 'valid', false), 'Conv_1_bn', eps), 'out_relu');
    k.denseSoftmax(k.globalAveragePool(x, 'global_average_pooling2d'), 'predictions');
  });
  return k.layers;
}
