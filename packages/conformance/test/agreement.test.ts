import { GraphBuilder, type RefTensor } from '@tessera/core';
import { describe, expect, it } from 'vitest';
import { AgreementCollector, type ConformanceCase } from '../src/index.js';
import type { CaseOutcome } from '../src/check-case.js';

const someCase: ConformanceCase = (() => {
  const b = new GraphBuilder('g');
  return { graph: b.build({ y: b.relu(b.input('x', [2])) }), feeds: { x: new Float32Array(2) } };
})();

const ref = (value: number[], bound: number[]): RefTensor => ({ shape: [value.length], value: Float64Array.from(value), bound: Float64Array.from(bound) });

const outcome = (y: Float32Array, reference: RefTensor): CaseOutcome => ({ ok: true, worstRatio: 0, outputs: {}, summary: 'ok', actual: { y }, reference: { y: reference } });

describe('AgreementCollector', () => {
  it('compares the outputs as they were when the case ran, even if the backend later reuses their memory (bound IO)', () => {
    const collector = new AgreementCollector();
    const exact = ref([1, 2], [0, 0]);
    const cpuOut = Float32Array.from([1, 2]);
    const sharedOut = Float32Array.from([1, 2]);
    collector.onCase('cpu')('bound-io', 0, someCase, outcome(cpuOut, exact));
    collector.onCase('workers')('bound-io', 0, someCase, outcome(sharedOut, exact));
    sharedOut.set([7, -3]); // a later session writing into the same memory
    const [cell] = collector.matrix();
    expect(cell).toMatchObject({ a: 'cpu', b: 'workers', cases: 1, worstRatio: 0 });
  });

  it('measures the worst difference against the sum of both bounds, and says where it is', () => {
    const collector = new AgreementCollector();
    const r = ref([1, 10], [0.5, 0.25]);
    collector.onCase('a')('graphs', 3, someCase, outcome(Float32Array.from([1, 10]), r));
    collector.onCase('b')('graphs', 3, someCase, outcome(Float32Array.from([1.25, 10.25]), r));
    const [cell] = collector.matrix();
    // Element 1: 0.25 / (0.25 + 0.25) = 0.5, worse than element 0's 0.25 / 1.
    expect(cell.worstRatio).toBe(0.5);
    expect(cell.worstAt).toEqual({ property: 'graphs', index: 3, output: 'y', element: 1 });
  });

  it('counts a difference where the reference is exact as infinitely far, as the comparator does', () => {
    const collector = new AgreementCollector();
    const exact = ref([1], [0]);
    collector.onCase('a')('relu', 0, someCase, outcome(Float32Array.from([1]), exact));
    collector.onCase('b')('relu', 0, someCase, outcome(Float32Array.from([2]), exact));
    expect(collector.matrix()[0].worstRatio).toBe(Infinity);
  });
});
