import { OpError } from './errors.js';

export type Shape = readonly number[];
export type DType = 'float32';

/** Largest element count of one tensor: 2^31 - 1 floats (8 GiB) is already more than any backend here can hold. */
export const MAX_ELEMENTS = 2 ** 31 - 1;

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Checks a shape is a list of positive integers whose product fits in MAX_ELEMENTS. */
export function checkShape(shape: Shape, what: string): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 1) throw new OpError(`${what} ${shapeStr(shape)} has a dimension that is not a positive integer`);
  }
  if (numel(shape) > MAX_ELEMENTS) throw new OpError(`${what} ${shapeStr(shape)} has more than ${MAX_ELEMENTS} elements`);
}

export function expectRank(shape: Shape, ranks: readonly number[], what: string): void {
  if (!ranks.includes(shape.length)) {
    throw new OpError(`${what} must have rank ${ranks.join(' or ')}, got ${shapeStr(shape)} (rank ${shape.length})`);
  }
}
