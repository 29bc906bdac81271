import { checkShape, numel, shapeStr, type Shape } from './shape.js';
import { OpError } from './errors.js';

/** A float32 tensor: a shape and row-major data. */
export class Tensor {
  readonly shape: Shape;
  readonly data: Float32Array;
  constructor(shape: Shape, data?: Float32Array | readonly number[]) {
    checkShape(shape, 'tensor shape');
    this.shape = Object.freeze([...shape]);
    const n = numel(shape);
    this.data = data === undefined ? new Float32Array(n) : data instanceof Float32Array ? data : Float32Array.from(data);
    if (this.data.length !== n) throw new OpError(`tensor of shape ${shapeStr(shape)} needs ${n} values, got ${this.data.length}`);
  }
  get size(): number {
    return this.data.length;
  }
}
