import { GraphBuilder, prng, randomTensor, Tensor, type Graph, type Padding, type SymbolicValue } from '@tessera/core';

/** [[top, bottom], [left, right]] zero padding of the two spatial dimensions (Keras' ZeroPadding2D). */
export type SpatialPads = [[number, number], [number, number]];

export interface ConvOptions {
  filters: number;
  kernel: number;
  strides?: number;
  padding: 'SAME' | 'VALID';
  bias: boolean;
}

/** Estimated mean and variance of a value's elements (all channels and positions alike). */
interface Stats {
  readonly mean: number;
  readonly variance: number;
}
const secondMoment = ({ mean, variance }: Stats): number => mean * mean + variance;

/** Standard normal density and distribution function (Abramowitz-Stegun 7.1.26 for erf). */
const density = (z: number): number => Math.exp(-z * z / 2) / Math.sqrt(2 * Math.PI);
function normalCdf(z: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(z) / Math.SQRT2);
  const erf = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-z * z / 2);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Mean and variance of max(x, 0) for a normal x with the given stats. */
function rectified({ mean, variance }: Stats): Stats {
  const sd = Math.sqrt(variance);
  if (sd === 0) return { mean: Math.max(mean, 0), variance: 0 };
  const z = mean / sd;
  const m = mean * normalCdf(z) + sd * density(z);
  const q = (mean * mean + variance) * normalCdf(z) + mean * sd * density(z);
  return { mean: m, variance: Math.max(q - m * m, 0) };
}

/** FNV-1a of a constant's name: its seed, so weights do not depend on the order they are drawn in. */
function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Keras layers written as Tessera ops (a Keras Conv2D with bias is conv2d then bias_add, a Dense is
 * matmul then bias_add then softmax), with deterministic pseudo-random weights stored under Keras'
 * variable names (`<layer>/kernel`, `<layer>/gamma`, ...). A layer's first op carries the Keras
 * layer name, the ops after it a suffix (`<layer>/bias_add`, `<layer>/softmax`).
 *
 * Weights are uniform in +-2/sqrt(fan-in) (as workloads.ts draws them). The batch-norm statistics
 * are what a trained network's would be: each layer carries an estimate of its values' mean and
 * variance (normal approximations), and a batch norm's moving mean and variance are those of its
 * input (the variance times a factor in [0.75, 1.25], the mean off by up to 0.1 standard
 * deviation), its scale near 1 and offset near 0, so it brings its output back to about unit
 * size and activations neither explode nor vanish over 50 layers.
 */
export class KerasLayers {
  readonly g: GraphBuilder;
  private readonly stats = new Map<string, Stats>();

  constructor(name: string, private readonly seed: number) {
    this.g = new GraphBuilder(name);
  }

  /** The input, of values uniform in [-1, 1]. */
  input(name: string, shape: readonly number[]): SymbolicValue {
    return this.track(this.g.input(name, [...shape]), { mean: 0, variance: 1 / 3 });
  }

  conv(x: SymbolicValue, name: string, { filters, kernel, strides = 1, padding, bias }: ConvOptions): SymbolicValue {
    const cin = x.shape[3];
    const w = this.weight(`${name}/kernel`, [kernel, kernel, cin, filters], 2 / Math.sqrt(kernel * kernel * cin));
    let y = this.g.conv2d(x, w, { strides: [strides, strides], padding: padding as Padding, name });
    if (bias) y = this.g.biasAdd(y, this.weight(`${name}/bias`, [filters], 0.1), { name: `${name}/bias_add` });
    return this.track(y, this.weighted(x, bias));
  }

  /** A depthwise conv without bias (multiplier 1), as MobileNetV2's. */
  depthwise(x: SymbolicValue, name: string, { kernel, strides, padding }: { kernel: number; strides: number; padding: 'SAME' | 'VALID' }): SymbolicValue {
    const w = this.weight(`${name}/depthwise_kernel`, [kernel, kernel, x.shape[3], 1], 2 / Math.sqrt(kernel * kernel));
    const y = this.g.depthwiseConv2d(x, w, { strides: [strides, strides], padding: padding as Padding, name });
    return this.track(y, this.weighted(x, false));
  }

  /** Inference batch normalization with plausible statistics (see the class comment). */
  batchNorm(x: SymbolicValue, name: string, epsilon: number): SymbolicValue {
    const c = x.shape[3];
    const next = prng(this.seed ^ nameHash(name));
    const around = (centre: number, spread: number) => Float32Array.from({ length: c }, () => centre + spread * (2 * next() - 1));
    const { mean, variance } = this.statsOf(x);
    const stat = (what: string, data: Float32Array) => this.g.constant(`${name}/${what}`, new Tensor([c], data));
    const movingMean = stat('moving_mean', around(mean, 0.1 * Math.sqrt(variance)));
    const movingVariance = stat('moving_variance', around(variance, 0.25 * variance));
    const gamma = stat('gamma', around(1, 0.2));
    const beta = stat('beta', around(0, 0.1));
    const y = this.g.batchNorm(x, movingMean, movingVariance, beta, gamma, { epsilon, name });
    return this.track(y, { mean: 0, variance: 1 });
  }

  /** relu or relu6 (ReLU(6.0); estimated as relu, values beyond 6 being rare at unit size). */
  activation(x: SymbolicValue, name: string, kind: 'relu' | 'relu6'): SymbolicValue {
    const y = kind === 'relu' ? this.g.relu(x, { name }) : this.g.relu6(x, { name });
    return this.track(y, rectified(this.statsOf(x)));
  }

  add(a: SymbolicValue, b: SymbolicValue, name: string): SymbolicValue {
    const [p, q] = [this.statsOf(a), this.statsOf(b)];
    return this.track(this.g.add(a, b, { name }), { mean: p.mean + q.mean, variance: p.variance + q.variance });
  }

  zeroPad(x: SymbolicValue, name: string, [rows, cols]: SpatialPads): SymbolicValue {
    return this.track(this.g.pad(x, { paddings: [[0, 0], rows, cols, [0, 0]], name }), this.statsOf(x));
  }

  /** VALID max pooling; a window's maximum is estimated one standard deviation above the mean, with half the variance. */
  maxPool(x: SymbolicValue, name: string, size: number, strides: number): SymbolicValue {
    const y = this.g.maxpool(x, { ksize: [size, size], strides: [strides, strides], padding: 'VALID', name });
    const { mean, variance } = this.statsOf(x);
    return this.track(y, { mean: mean + Math.sqrt(variance), variance: variance / 2 });
  }

  /** Keras' GlobalAveragePooling2D: the mean over height and width (the variance averages away). */
  globalAveragePool(x: SymbolicValue, name: string): SymbolicValue {
    const { mean, variance } = this.statsOf(x);
    return this.track(this.g.mean(x, { axes: [1, 2], name }), { mean, variance: variance / (x.shape[1] * x.shape[2]) });
  }

  /**
   * Dense(units, activation='softmax'): matmul, bias_add, softmax. Its weights are scaled so the
   * logits spread with a standard deviation of about 2, as a trained classifier's do, and the
   * probabilities are neither all alike nor all 0 and 1.
   */
  denseSoftmax(x: SymbolicValue, name: string, units: number): SymbolicValue {
    const k = x.shape[1];
    const w = this.weight(`${name}/kernel`, [k, units], Math.sqrt(12 / (k * secondMoment(this.statsOf(x)))));
    const logits = this.g.biasAdd(this.g.matmul(x, w, { name }), this.weight(`${name}/bias`, [units], 0.1), { name: `${name}/bias_add` });
    return this.g.softmax(logits, { name: `${name}/softmax` });
  }

  build(output: string, value: SymbolicValue): Graph {
    return this.g.build({ [output]: value });
  }

  /**
   * Stats of a sum of products with weights uniform in +-a, a^2 = 4 / fan-in (variance a^2 / 3):
   * mean 0, variance 4/3 of the input's second moment, plus a bias's 0.01 / 3.
   */
  private weighted(x: SymbolicValue, bias: boolean): Stats {
    return { mean: 0, variance: (4 / 3) * secondMoment(this.statsOf(x)) + (bias ? 0.01 / 3 : 0) };
  }

  private weight(name: string, shape: number[], scale: number): SymbolicValue {
    return this.g.constant(name, randomTensor(shape, this.seed ^ nameHash(name), scale));
  }

  private statsOf(x: SymbolicValue): Stats {
    const s = this.stats.get(x.name);
    if (!s) throw new Error(`KerasLayers: '${x.name}' was not made by these layers`);
    return s;
  }

  private track(x: SymbolicValue, stats: Stats): SymbolicValue {
    this.stats.set(x.name, stats);
    return x;
  }
}
