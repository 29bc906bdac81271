import { describe, expect, it } from 'vitest';
import { test as fcTest, fc } from '@fast-check/vitest';
import { seedCnn } from '@tessera/examples';
import {
  Graph,
  GraphBuilder,
  Tensor,
  TesseraError,
  graphFromJson,
  graphToJson,
  parseGraphJson,
  randomTensor,
  stringifyGraphJson,
  usesSidecar,
  type GraphJson,
} from '@tessera/core';
import { base64DecodedLength, decodeBase64Into, encodeBase64 } from '../../src/format/bytes.js';

/** Float32 values given by their bit patterns, so NaN payloads, -0 and subnormals are exact. */
function fromBits(bits: readonly number[]): Float32Array {
  return new Float32Array(new Uint32Array(bits).buffer);
}
const SPECIAL = fromBits([0x7fc00001, 0xffc12345, 0x80000000, 0x7f800000, 0xff800000, 0x00000001, 0x7f7fffff]);

function bytesOf(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Every op, explicit padding, dilations, transposes, rank-3 matmul, slices and odd weights. */
function zoo(): Graph {
  const g = new GraphBuilder('zoo graph');
  const x = g.input('x', [2, 9, 9, 3]);
  g.input('unused input', [4]);
  g.constant('scalar', new Tensor([], [Math.PI]));
  const c1 = g.conv2d(x, g.constant('w1', randomTensor([3, 3, 3, 4], 1)), { strides: [2, 1], padding: [[1, 2], [0, 3]], name: 'explicit' });
  const c2 = g.conv2d(c1, g.constant('w2', randomTensor([2, 2, 4, 7], 2)), { strides: [1, 1], padding: 'VALID', dilations: [2, 2], name: 'dilated' });
  const special = g.constant('special bias', new Tensor([7], SPECIAL));
  const f = g.fusedConv2d(c2, g.constant('w3', randomTensor([1, 1, 7, 7], 3)), special, { strides: [1, 1], padding: 'SAME', activation: 'relu', name: 'fused' });
  // A fused conv with its optional fourth operand, a residual.
  const fr = g.fusedConv2d(c2, g.constant('w5', randomTensor([1, 1, 7, 7], 9)), special, { padding: 'VALID', activation: 'relu6', name: 'fused_residual' }, f);
  const p = g.maxpool(fr, { ksize: [2, 2], strides: [2, 2], padding: 'SAME', name: 'pool' });
  const r = g.reshape(p, [2, -1], { name: 'flat' });
  const m = g.matmul(r, g.constant('wt', randomTensor([6, 56], 4)), { transposeB: true, name: 'fc_t' });
  const mt = g.matmul(m, g.constant('a2', randomTensor([2, 3], 5)), { transposeA: true, name: 'ta' });
  const bm = g.matmul(g.reshape(mt, [3, 2, 3]), g.constant('b3', randomTensor([3, 3, 2], 6)), { name: 'batched' });
  const fm = g.fusedMatmul(g.reshape(bm, [6, 2]), g.constant('w4', randomTensor([2, 4], 7)), g.constant('b4', randomTensor([4], 8)), { activation: 'relu' });
  const s = g.slice(fm, { begin: [1, 0], size: [2, 2], strides: [2, 3], name: 'strided' });
  return g.build({ main: g.relu(s), pooled: p, 'odd "name"': x });
}

function expectSameGraph(a: Graph, b: Graph): void {
  expect(b.toString()).toBe(a.toString());
  expect(b.name).toBe(a.name);
  expect(b.inputs).toEqual(a.inputs);
  expect(b.outputs).toEqual(a.outputs);
  expect(b.nodes.map((n) => [n.name, n.op, n.attrs, n.inputs, n.output])).toEqual(a.nodes.map((n) => [n.name, n.op, n.attrs, n.inputs, n.output]));
  expect([...b.constants.keys()]).toEqual([...a.constants.keys()]);
  for (const [name, t] of a.constants) {
    const u = b.constants.get(name)!;
    expect(u.shape).toEqual(t.shape);
    expect(Buffer.from(bytesOf(u)).equals(Buffer.from(bytesOf(t)))).toBe(true);
  }
}

describe('graph JSON round trip', () => {
  for (const [label, make] of [['the seed CNN', () => seedCnn()], ['the op zoo', zoo]] as const) {
    for (const weights of ['inline', 'sidecar'] as const) {
      it(`${label}, ${weights} weights, byte-exact through text`, () => {
        const g = make();
        const { json, sidecar } = graphToJson(g, { weights });
        expect(json.format).toBe('tessera-graph');
        expect(json.version).toBe(1);
        expect(sidecar !== undefined).toBe(weights === 'sidecar');
        expect(usesSidecar(json)).toBe(weights === 'sidecar');
        const text = stringifyGraphJson(json);
        const back = parseGraphJson(text, sidecar);
        expectSameGraph(g, back);
        // Saving what was loaded gives the same bytes again.
        const again = graphToJson(back, { weights });
        expect(stringifyGraphJson(again.json)).toBe(text);
        if (sidecar) expect(Buffer.from(again.sidecar!).equals(Buffer.from(sidecar))).toBe(true);
      });
    }
  }

  it('lays the sidecar out as the constants back to back, little-endian', () => {
    const g = zoo();
    const { json, sidecar } = graphToJson(g, { weights: 'sidecar' });
    let offset = 0;
    for (const c of json.constants) {
      const n = c.shape.reduce((p, d) => p * d, 1);
      expect(c.data).toEqual({ offset, length: n });
      offset += n * 4;
    }
    expect(sidecar!.length).toBe(offset);
    const special = json.constants.find((c) => c.name === 'special bias')!.data as { offset: number };
    // -0 is 00 00 00 80 in little-endian; +Inf 00 00 80 7F.
    expect([...sidecar!.subarray(special.offset + 8, special.offset + 16)]).toEqual([0, 0, 0, 0x80, 0, 0, 0x80, 0x7f]);
  });

  it('stores no output shapes and fills attribute defaults', () => {
    const { json } = graphToJson(seedCnn());
    for (const n of json.nodes) expect(Object.keys(n).sort()).toEqual(['attrs', 'inputs', 'name', 'op']);
    expect(json.nodes[0].attrs).toEqual({ strides: [1, 1], padding: 'SAME', dilations: [1, 1] });
  });

  it('reads a hand-written file: defaults may be omitted, weights are little-endian float32 base64', () => {
    const doc = {
      format: 'tessera-graph',
      version: 1,
      name: 'hand',
      inputs: [
        { name: 'x', shape: [1, 2] },
        { name: 'x4', shape: [1, 3, 3, 1] },
      ],
      // 1.0f = 00 00 80 3F and 2.0f = 00 00 00 40 -> "AACAPwAAAEA="; -2.5f = 00 00 20 C0 -> "AAAgwA=="
      constants: [
        { name: 'w', shape: [2, 1], data: { base64: 'AACAPwAAAEA=' } },
        { name: 'b', shape: [1], data: { base64: 'AAAgwA==' } },
        { name: 'f', shape: [2, 2, 1, 1], data: { base64: 'AACAPwAAgD8AAIA/AACAPw==' } },
      ],
      nodes: [
        { name: 'mm', op: 'fused_matmul', attrs: {}, inputs: ['x', 'w', 'b'] },
        { name: 'c', op: 'conv2d', attrs: { padding: 'VALID' }, inputs: ['x4', 'f'] },
      ],
      outputs: { y: 'mm', z: 'c' },
    };
    const g = graphFromJson(doc);
    expect([...g.constants.get('w')!.data]).toEqual([1, 2]);
    expect([...g.constants.get('b')!.data]).toEqual([-2.5]);
    expect([...g.constants.get('f')!.data]).toEqual([1, 1, 1, 1]);
    expect(g.nodes.find((n) => n.name === 'mm')!.attrs).toEqual({ transposeA: false, transposeB: false, activation: 'none' });
    expect(g.nodes.find((n) => n.name === 'c')!.attrs).toEqual({ strides: [1, 1], padding: 'VALID', dilations: [1, 1] });
    expect(g.value('c').shape).toEqual([1, 2, 2, 1]);
  });

  it('keeps __proto__-like text safe inside names that are not exactly reserved', () => {
    const g = new GraphBuilder('__proto__x');
    const x = g.input('constructor2', [1]);
    const back = parseGraphJson(stringifyGraphJson(graphToJson(g.build({ prototype_: x })).json));
    expect(back.outputs).toEqual({ prototype_: 'constructor2' });
    expect(Object.getPrototypeOf(back.outputs)).toBe(Object.prototype);
  });

  it('refuses to save a name that no loader would accept', () => {
    const g = new GraphBuilder('g');
    const x = g.input('constructor', [1]);
    expect(() => graphToJson(g.build({ y: x }))).toThrow("cannot save: input name \"constructor\" is not allowed");
    const h = new GraphBuilder('');
    expect(() => graphToJson(h.build({ y: h.input('x', [1]) }))).toThrow('cannot save: graph name "" is not allowed');
  });

  it('rejects a bad weights option', () => {
    expect(() => graphToJson(seedCnn(), { weights: 'external' as 'inline' })).toThrow(TesseraError);
  });
});

describe('base64', () => {
  fcTest.prop([fc.uint8Array({ maxLength: 200 })])('matches the standard encoding and decodes back', (bytes) => {
    const text = encodeBase64(bytes);
    expect(text).toBe(Buffer.from(bytes).toString('base64'));
    expect(base64DecodedLength(text)).toBe(bytes.length);
    const out = new Uint8Array(bytes.length);
    expect(decodeBase64Into(text, out)).toBeUndefined();
    expect([...out]).toEqual([...bytes]);
  });

  it('reports bad lengths and characters', () => {
    expect(base64DecodedLength('AAA')).toMatch(/not a multiple of 4/);
    expect(decodeBase64Into('AA=A', new Uint8Array(3))).toMatch(/invalid character "="/);
    expect(decodeBase64Into('AA\u00e9A', new Uint8Array(3))).toMatch(/invalid character/);
  });
});

describe('loading arbitrary junk', () => {
  const valid = graphToJson(zoo()).json;
  const paths: (string | number)[][] = [];
  const walk = (v: unknown, path: (string | number)[]) => {
    paths.push(path);
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (k !== 'base64') walk(x, [...path, k]);
  };
  walk(valid, []);

  fcTest.prop([fc.array(fc.tuple(fc.nat(paths.length - 1), fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(undefined))), { minLength: 1, maxLength: 3 })], {
    numRuns: 300,
  })('either loads or throws a TesseraError', (mutations) => {
    const doc = structuredClone(valid) as unknown as Record<string, unknown>;
    for (const [p, value] of mutations) {
      const path = paths[p];
      if (path.length === 0) continue;
      let parent: unknown = doc;
      for (const k of path.slice(0, -1)) parent = parent && typeof parent === 'object' ? (parent as Record<string, unknown>)[k] : undefined;
      if (!parent || typeof parent !== 'object') continue;
      const key = path[path.length - 1];
      if (value === undefined) delete (parent as Record<string | number, unknown>)[key];
      else (parent as Record<string | number, unknown>)[key] = value;
    }
    try {
      expect(graphFromJson(doc as unknown as GraphJson)).toBeInstanceOf(Graph);
    } catch (e) {
      if (!(e instanceof TesseraError)) throw e;
      // "<where>: <what>", where <where> may hold quoted keys that contain ':' themselves.
      expect(e.message).toMatch(/^(?:[^:"]|"(?:[^"\\]|\\.)*")+: /);
    }
  });
});
