import { Graph, evaluate } from '@tessera/core';
import { expect } from 'vitest';
import type { ConformanceCase } from '../src/index.js';

/** The case is well formed: the graph re-verifies, feeds match its inputs, and the reference is finite everywhere. */
export function checkWellFormed(c: ConformanceCase): void {
  const again = new Graph(c.graph.parts());
  expect(again.nodes.length).toBe(c.graph.nodes.length);
  expect(Object.keys(c.feeds).sort()).toEqual(c.graph.inputs.map((v) => v.name).sort());
  const ref = evaluate(c.graph, c.feeds);
  for (const [name, r] of Object.entries(ref)) {
    for (let i = 0; i < r.value.length; i++) {
      if (!Number.isFinite(r.value[i]) || !Number.isFinite(r.bound[i]) || Math.abs(r.value[i]) > 1e35) {
        throw new Error(`output ${name}[${i}] = ${r.value[i]} ± ${r.bound[i]} is not comfortably finite in float32`);
      }
    }
  }
}
