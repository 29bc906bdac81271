import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FormatError, TesseraError, graphFromJson, parseGraphJson } from '@tessera/core';

const DIR = fileURLToPath(new URL('../../../../tests/fixtures/malformed/', import.meta.url));

/**
 * Every file in tests/fixtures/malformed holds one bug. Each must be rejected with a
 * TesseraError whose message names the place (a JSON path) and the problem. Files whose
 * weights are in a sidecar get a 36-byte one (room for the 6 + 3 floats of the valid file).
 */
const CASES: Record<string, readonly string[]> = {
  'bad-version': ['version: unsupported version 2', 'supports version 1'],
  'wrong-format': ['format: expected "tessera-graph", got "onnx-graph"'],
  'not-an-object': ['(root): expected a JSON object'],
  'truncated-json': ['not valid JSON'],
  'wrong-type-shape': ['inputs[0].shape[1]: expected a number, got "4"'],
  'wrong-type-strides': ['nodes[0].attrs.strides[1]: expected a number, got true', "node 'conv1', op conv2d"],
  'wrong-type-inputs': ['nodes[2].inputs: expected an array, got "bias"'],
  'missing-field': ['nodes[1].inputs: missing'],
  'non-finite-number': ['inputs[0].shape[0]: Infinity is not a JSON number'],
  'unknown-op': ['nodes[2].op: unknown op "gelu"', 'known: conv2d'],
  'unknown-attribute': ["nodes[0].attrs.groups: unknown attribute 'groups'", 'conv2d takes strides, padding, dilations'],
  'unknown-top-level-key': ["weights: unknown key 'weights'"],
  'bad-padding': ['nodes[0].attrs.padding: expected "SAME" or "VALID"', 'got "SMAE"'],
  cycle: ["nodes: cycle: nodes[1] 'bias' -> nodes[2] 'relu' -> nodes[0] 'conv1' -> nodes[1] 'bias'"],
  'self-loop': ["nodes: cycle: nodes[2] 'relu' -> nodes[2] 'relu'"],
  'shape-mismatch': ["nodes[0] 'conv1' (conv2d): filter in_channels 3 does not match input channels 2"],
  'reshape-mismatch': ["nodes[4] 'flatten' (reshape): cannot reshape [1,2,2,3] (12 elements) to [1,13]"],
  'duplicate-value-name': ["nodes[2].name: value 'x' is already defined at inputs[0]"],
  'duplicate-constant-name': ["constants[1].name: value 'w' is already defined at constants[0]"],
  'missing-operand': ["nodes[1].inputs[1]: operand 'b2'", 'is not defined'],
  'wrong-operand-count': ['nodes[2].inputs: relu takes 1 operand (x), got 2'],
  'undefined-output': ["outputs.y: value 'logits' is not defined"],
  'no-outputs': ['outputs: the graph has no outputs'],
  'absurd-shape': ['constants[0].shape: [1000000000,1000000000] has more than 2147483647 elements'],
  'too-many-dims': ['inputs[0].shape: 9 entries, expected at most 8'],
  'declared-size-without-data': ['constants[1].data.base64: decodes to 4 bytes, but shape [2147483647] needs 8589934588 bytes'],
  'base64-length-mismatch': ['constants[0].data.base64: decodes to 20 bytes, but shape [1,1,2,3] needs 24 bytes'],
  'base64-bad-character': ['constants[1].data.base64: base64 text has an invalid character "!"'],
  'sidecar-out-of-range': ['constants[1].data: bytes 32..44 are outside the sidecar file of 36 bytes'],
  'sidecar-length-mismatch': ['constants[0].data.length: 5 floats, but shape [1,1,2,3] has 6 elements'],
  'weights-both-kinds': ['constants[0].data: expected either {"base64": string} or {"offset": bytes, "length": floats}'],
  'proto-key-in-attrs': ["nodes[0].attrs.__proto__: forbidden key '__proto__'"],
  'proto-key-in-outputs': ["outputs.__proto__: forbidden key '__proto__'"],
  'prototype-key-at-root': ["prototype: forbidden key 'prototype'"],
  'constructor-node-name': ['nodes[3].name: reserved name'],
  'proto-output-value': ['outputs.y: reserved name'],
  'deeply-nested-junk': ['nodes[0].attrs.junk[0][0]', 'nested more than 32 levels deep'],
  'huge-node-count-declared': ['nodes: expected an array, got an object'],
};

const SIDECAR = new Uint8Array(36);

function rejection(run: () => unknown): TesseraError {
  try {
    run();
  } catch (e) {
    if (e instanceof TesseraError) return e;
    throw new Error(`expected a TesseraError, got ${String(e)}`);
  }
  throw new Error('expected the file to be rejected, but it loaded');
}

describe('malformed graph files', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();

  it('has a table entry for every fixture and a fixture for every entry', () => {
    expect(files).toEqual(Object.keys(CASES).sort());
    expect(files.length).toBeGreaterThanOrEqual(15);
  });

  it.each(Object.entries(CASES))('%s is rejected with its location and problem', (file, fragments) => {
    const text = readFileSync(`${DIR}${file}.json`, 'utf8');
    const started = performance.now();
    const err = rejection(() => parseGraphJson(text, SIDECAR));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(err).toBeInstanceOf(FormatError);
    for (const fragment of fragments) expect(err.message).toContain(fragment);
  });

  it('rejects more than 100,000 nodes before looking at any of them', () => {
    const doc = JSON.parse(readFileSync(`${DIR}bad-version.json`, 'utf8'));
    doc.version = 1;
    doc.nodes = new Array(100_001).fill(0);
    expect(rejection(() => graphFromJson(doc)).message).toContain('nodes: an array of 100001 entries is longer than the limit of 100000');
  });

  it('rejects a sidecar graph given no sidecar', () => {
    const text = readFileSync(`${DIR}sidecar-out-of-range.json`, 'utf8');
    expect(rejection(() => parseGraphJson(text)).message).toContain('constants[0].data: the weights are in a sidecar file, but no sidecar was given');
  });

  it('rejects a declared size that the sidecar cannot hold without allocating it', () => {
    const doc = JSON.parse(readFileSync(`${DIR}sidecar-out-of-range.json`, 'utf8'));
    doc.constants[1] = { name: 'b', shape: [2147483647], data: { offset: 0, length: 2147483647 } };
    expect(rejection(() => graphFromJson(doc, SIDECAR)).message).toContain('constants[1].data: bytes 0..8589934588 are outside the sidecar file of 36 bytes');
  });

  it('rejects documents built in code with non-JSON values, prototypes or cycles', () => {
    const doc = JSON.parse(readFileSync(`${DIR}bad-version.json`, 'utf8'));
    doc.version = 1;
    const withNaN = structuredClone(doc);
    withNaN.nodes[0].attrs.strides = [1, NaN];
    expect(rejection(() => graphFromJson(withNaN)).message).toContain('nodes[0].attrs.strides[1]: NaN is not a JSON number');
    const withMap = structuredClone(doc);
    withMap.outputs = new Map([['y', 'flatten']]);
    expect(rejection(() => graphFromJson(withMap)).message).toContain('outputs: a Map is not a JSON value');
    const withProto = structuredClone(doc);
    withProto.nodes[0].attrs = Object.create({ polluted: true });
    expect(rejection(() => graphFromJson(withProto)).message).toContain('nodes[0].attrs: an object with a prototype other than Object.prototype is not a JSON value');
    const cyclic = structuredClone(doc);
    cyclic.nodes[0].attrs.self = cyclic.nodes[0].attrs;
    expect(rejection(() => graphFromJson(cyclic)).message).toContain("nodes[0].attrs.self: unknown attribute 'self'");
  });

  it('rejects a non-Uint8Array sidecar', () => {
    const doc = JSON.parse(readFileSync(`${DIR}sidecar-out-of-range.json`, 'utf8'));
    expect(rejection(() => graphFromJson(doc, [0, 1] as unknown as Uint8Array)).message).toContain('the sidecar must be a Uint8Array');
  });
});
