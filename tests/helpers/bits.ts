import type { Feeds, Graph } from '@tessera/core';
import { createSession, type createContainer, type Outputs } from '@tessera/runtime';
import { expect } from 'vitest';

/** `actual` equals `expected` element by element under Object.is (-0 is not 0; NaN equals NaN), with the same length. */
export function expectBitIdentical(actual: Float32Array, expected: Float32Array, label?: string): void {
  expect(actual.length, label).toBe(expected.length);
  let mismatches = 0;
  for (let i = 0; i < actual.length; i++) if (!Object.is(actual[i], expected[i])) mismatches++;
  expect(mismatches, label).toBe(0);
}

/** Each of `backends` (in `container`) runs `graph` on `feeds` with the bits of `expected`, output by output. */
export async function expectBackendsBitIdentical(graph: Graph, feeds: Feeds, expected: Outputs, backends: readonly string[], container: ReturnType<typeof createContainer>): Promise<void> {
  for (const name of backends) {
    const session = await createSession(graph, { backend: name, container });
    const actual = await session.run(feeds);
    for (const out of Object.keys(graph.outputs)) expectBitIdentical(actual[out], expected[out], `${name}, output '${out}'\n${graph.toString()}`);
    session.dispose();
  }
}
