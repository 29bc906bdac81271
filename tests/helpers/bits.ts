import type { Feeds, Graph } from '@tessera/core';
import { createSession, type createContainer, type Outputs } from '@tessera/runtime';
import { expect } from 'vitest';

/** The float32 bit patterns of `a` (NaN payloads and the sign of zero included), for exact comparison. */
export const bitsOf = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** One session of `graph` on `backend`: the outputs of one run and the algorithms the backend reports. */
export async function runOnce(backend: string, graph: Graph, feeds: Feeds, container: ReturnType<typeof createContainer>): Promise<{ outputs: Outputs; algorithms: ReadonlyMap<string, string> }> {
  const session = await createSession(graph, { backend, container });
  try {
    return { outputs: await session.run(feeds), algorithms: session.stats.algorithms };
  } finally {
    session.dispose();
  }
}

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
