/**
 * pad with value -0 on the page's webgl backend driven from Node (what `tessera conformance`
 * runs): the graph travels to the page as a graph document, which once turned the -0 into +0.
 * Both kernel paths: lane by lane (before or width not a multiple of 4) and whole texels.
 */
import { registerBrowserBackends } from '@tessera/browser';
import { GraphBuilder, type Graph } from '@tessera/core';
import { createContainer, createSession, disposeBackends } from '@tessera/runtime';
import { afterAll, describe, expect, it } from 'vitest';

const sign = (v: number): string => (Object.is(v, -0) ? '-0' : String(v));

function padded(shape: number[], paddings: [number, number][]): Graph {
  const g = new GraphBuilder('pad-minus-zero');
  return g.build({ y: g.pad(g.input('x', shape), { paddings, value: -0 }) });
}

describe('webgl in the page pads with -0', () => {
  const container = createContainer();
  registerBrowserBackends(container);
  afterAll(() => disposeBackends(container));

  it.each<[string, number[], [number, number][], string[]]>([
    ['lane by lane, one row (the conformance failure)', [1], [[0, 1]], ['1', '-0']],
    ['lane by lane, after a reshape to rows', [2, 1], [[0, 0], [1, 1]], ['-0', '1', '-0', '-0', '2', '-0']],
    ['whole texels', [1, 4], [[1, 0], [4, 0]], [...Array(12).fill('-0'), '1', '2', '3', '4']],
  ])('%s', async (_, shape, paddings, expected) => {
    const session = await createSession(padded(shape, paddings), { backend: 'webgl', container });
    try {
      const n = shape.reduce((p, d) => p * d, 1);
      const out = await session.run({ x: Float32Array.from({ length: n }, (_, i) => i + 1) });
      expect(Array.from(out.y, sign)).toEqual(expected);
    } finally {
      session.dispose();
    }
  });
});
