/** A -0 attribute (pad's value) survives the graph file, any JSON.stringify on the way, and the graph printer. */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, graphFromJson, graphToJson, parseGraphJson, stringifyGraphJson, type Graph } from '@tessera/core';

function padGraph(value: number): Graph {
  const g = new GraphBuilder('pad');
  const x = g.input('x', [1]);
  return g.build({ y: g.pad(g.relu(x), { paddings: [[0, 1]], value }) });
}

const padValue = (g: Graph): unknown => g.nodes.find((n) => n.op === 'pad')!.attrs.value;

describe('-0 in attributes', () => {
  it('round-trips through the file text and through a plain JSON.stringify of the document', () => {
    const { json } = graphToJson(padGraph(-0));
    expect(Object.is(padValue(parseGraphJson(stringifyGraphJson(json))), -0)).toBe(true);
    expect(Object.is(padValue(graphFromJson(JSON.parse(JSON.stringify(json)))), -0)).toBe(true);
    expect(stringifyGraphJson(json)).toContain('"value":"-0"');
  });

  it('keeps +0 and other numbers as numbers', () => {
    for (const v of [0, 0.5, -2]) {
      const { json } = graphToJson(padGraph(v));
      expect(json.nodes[1].attrs.value).toBe(v);
      expect(Object.is(padValue(parseGraphJson(stringifyGraphJson(json))), v)).toBe(true);
    }
  });

  it('reads a literal -0 of the JSON text as -0, and 0 as +0 (files written before the encoding)', () => {
    const text = (v: string) => stringifyGraphJson(graphToJson(padGraph(1)).json).replace('"value":1', `"value":${v}`);
    expect(Object.is(padValue(parseGraphJson(text('-0'))), -0)).toBe(true);
    expect(Object.is(padValue(parseGraphJson(text('0'))), 0)).toBe(true);
  });

  it('refuses a string other than "-0" where a number belongs', () => {
    const json = graphToJson(padGraph(1)).json;
    json.nodes[1].attrs.value = '-0.0';
    expect(() => graphFromJson(json)).toThrow(/nodes\[1\]\.attrs\.value/);
  });

  it('the printer shows -0 (JSON.stringify would show 0)', () => {
    expect(padGraph(-0).toString()).toContain('value=-0');
    expect(padGraph(0).toString()).toContain('value=0');
    expect(padGraph(0).toString()).toContain('paddings=[[0,1]]');
  });
});
