import { expect } from 'vitest';

/** `actual` equals `expected` element by element under Object.is (-0 is not 0; NaN equals NaN), with the same length. */
export function expectBitIdentical(actual: Float32Array, expected: Float32Array, label?: string): void {
  expect(actual.length, label).toBe(expected.length);
  let mismatches = 0;
  for (let i = 0; i < actual.length; i++) if (!Object.is(actual[i], expected[i])) mismatches++;
  expect(mismatches, label).toBe(0);
}
