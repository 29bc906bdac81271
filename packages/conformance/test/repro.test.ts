/** Malformed reproduction documents: each a FormatError naming the field, never a TypeError or atob's 'Invalid character'. */
import { FormatError, GraphBuilder, evaluate } from '@tessera/core';
import { describe, expect, it } from 'vitest';
import { reproFromJson, reproToJson, type ConformanceFailure } from '../src/index.js';

const b = new GraphBuilder('r');
const graph = b.build({ y: b.relu(b.input('x', [2]), { name: 'y' }) });
const x = Float32Array.of(-1, 2);
const failure: ConformanceFailure = {
  property: 'relu', backend: 'cpu', graph: graph.toString(), graphObject: graph, feeds: { x },
  outcome: { ok: false, worstRatio: Infinity, outputs: {}, summary: 'wrong', reference: evaluate(graph, { x }), actual: { y: x } },
  seed: 1, path: '0', shrinks: 0, message: '',
};
const valid = () => JSON.parse(JSON.stringify(reproToJson(failure)));

describe('reproFromJson', () => {
  it.each<[string, (j: Record<string, any>) => void, string]>([
    ['a null expected entry', (j) => (j.expected.y = null), 'f.json: expected.y: expected an object, got null'],
    ['bad base64', (j) => (j.feeds.x.float32 = '!!!!'), 'f.json: feeds.x.float32: not base64 (4 characters)'],
    ['a feed longer than its shape', (j) => (j.feeds.x.shape = [1]), 'f.json: feeds.x.float32: holds 8 bytes, but its shape needs 4'],
    ['a feed the graph does not take', (j) => (j.feeds.z = j.feeds.x), "f.json: feeds: feed 'z' is not an input"],
    ['a bad graph', (j) => (j.graph.nodes[0].op = 'nope'), 'f.json: graph.nodes[0].op: unknown op "nope"'],
    ['a string seed', (j) => (j.seed = 'abc'), 'f.json: seed: expected a number, got "abc"'],
    ['another format', (j) => (j.format = 'x'), 'f.json: format: expected "tessera-conformance-repro"'],
  ])('refuses %s naming the field', (_, mutate, message) => {
    const j = valid();
    mutate(j);
    let error: unknown;
    try {
      reproFromJson(j, 'f.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toContain(message);
  });

  it('decodes the valid document', () => {
    expect(Array.from(reproFromJson(valid()).feeds.x)).toEqual([-1, 2]);
  });
});

describe('a -0 attribute in a reproduction file', () => {
  it('is -0 again after writing and reading, so the case reproduces', () => {
    const g = new GraphBuilder('p');
    const padded = g.build({ y: g.pad(g.input('x', [1]), { paddings: [[0, 1]], value: -0 }) });
    const feeds = { x: Float32Array.of(-0.5) };
    const reference = evaluate(padded, feeds);
    const f: ConformanceFailure = {
      ...failure,
      property: 'pad', graph: padded.toString(), graphObject: padded, feeds,
      outcome: { ...failure.outcome, reference, actual: { y: Float32Array.of(-0.5, 0) } },
    };
    const read = reproFromJson(JSON.parse(JSON.stringify(reproToJson(f), null, 1)));
    expect(Object.is(read.graph.nodes[0].attrs.value, -0)).toBe(true);
    expect(Object.is(evaluate(read.graph, read.feeds).y.value[1], -0)).toBe(true);
  });
});
