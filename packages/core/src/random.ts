import { numel, type Shape } from './shape.js';
import { Tensor } from './tensor.js';

/** mulberry32: a small deterministic PRNG, so examples, benchmarks and tests draw the same data everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform values in [-scale, scale). */
export function randomTensor(shape: Shape, seed: number, scale = 1): Tensor {
  const next = prng(seed);
  const data = new Float32Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = (next() * 2 - 1) * scale;
  return new Tensor(shape, data);
}
