/**
 * Fuzzing every file the project reads (graph JSON with inline weights and with a sidecar,
 * .npy, conformance reproduction files): fast-check mutations of valid files (byte flips,
 * truncation, extension, JSON values replaced at random paths, huge declared sizes). Each case
 * either loads or fails with a FormatError naming the file, quickly and without allocating
 * more than the input justifies. Seed: fixed, printed; TESSERA_SEED overrides.
 */
import { FormatError, GraphBuilder, Tensor, evaluate, graphToJson, stringifyGraphJson, writeNpy, type Graph } from '@tessera/core';
import { loadGraph, readNpyFile, saveGraph } from '@tessera/core/node';
import { readRepro, reproToJson, type ConformanceFailure } from '@tessera/conformance';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const SEED = (() => {
  const raw = process.env.TESSERA_SEED;
  if (raw === undefined || raw.trim() === '') return 20_260_720;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`TESSERA_SEED must be an integer, got '${raw}'`);
  return seed | 0;
})();
const RUNS = 300;
console.log(`[fuzz.files] fast-check seed ${SEED}, ${RUNS} cases per file kind (replay with TESSERA_SEED=${SEED})`);

const dir = mkdtempSync(join(tmpdir(), 'tessera-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
// valid files

function smallGraph(): Graph {
  const b = new GraphBuilder('fuzz');
  const x = b.input('x', [1, 4, 4, 2]);
  const w = b.constant('w', new Tensor([3, 3, 2, 3], Float32Array.from({ length: 54 }, (_, i) => (i % 7) - 3)));
  const bias = b.constant('b', new Tensor([3], Float32Array.of(0.5, -1, 2)));
  const y = b.relu(b.biasAdd(b.conv2d(x, w, { padding: 'SAME', name: 'conv' }), bias, { name: 'bias' }), { name: 'relu' });
  return b.build({ y, flat: b.reshape(y, [1, 48], { name: 'flat' }) });
}

const graph = smallGraph();
const inlineJson = new TextEncoder().encode(stringifyGraphJson(graphToJson(graph).json));
const sidecarPath = join(dir, 'side-base.json');
await saveGraph(sidecarPath, graph, { weights: 'sidecar' });
const sidecarJson = readFileSync(sidecarPath);
const sidecarBin = readFileSync(sidecarPath.replace(/\.json$/, '.bin'));
const npyFile = writeNpy([1, 4, 4, 2], Float32Array.from({ length: 32 }, (_, i) => i / 3));

function reproBytes(): Uint8Array {
  const x = Float32Array.from({ length: 32 }, (_, i) => i - 16);
  const reference = evaluate(graph, { x });
  const failure: ConformanceFailure = {
    property: 'graphs',
    backend: 'cpu',
    graph: graph.toString(),
    graphObject: graph,
    feeds: { x },
    outcome: { ok: false, worstRatio: Infinity, outputs: {}, summary: 'y: element 0 is wrong', reference, actual: { y: new Float32Array(48), flat: new Float32Array(48) } },
    seed: 7,
    path: '0:1',
    shrinks: 2,
    message: 'replay: runConformance({ seed: 7, path: "0:1" })',
  };
  return new TextEncoder().encode(JSON.stringify(reproToJson(failure)));
}
const reproFile = reproBytes();

// ---------------------------------------------------------------------------------------------
// mutations

type ByteMutation = { kind: 'flip'; at: number; xor: number } | { kind: 'truncate'; at: number } | { kind: 'extend'; bytes: Uint8Array };

const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
);

function mutateBytes(base: Uint8Array, mutations: readonly ByteMutation[]): Uint8Array {
  let out = Uint8Array.from(base);
  for (const m of mutations) {
    if (m.kind === 'flip' && out.length > 0) out[m.at % out.length] ^= m.xor;
    else if (m.kind === 'truncate') out = out.subarray(0, m.at % (out.length + 1));
    else if (m.kind === 'extend') out = Uint8Array.from([...out, ...m.bytes]);
  }
  return out;
}

const HUGE = [2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, 1e300, -1, 0, 1.5];
const jsonValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...HUGE),
  fc.constantFrom(null, true, false, '', 'constructor', '__proto__', 'toString', 'x', 'AAAA', '====', [], {}, [2 ** 31 - 1], [65536, 65536]),
  fc.integer(),
  fc.string({ maxLength: 12 }),
  fc.array(fc.integer({ min: -2, max: 2 ** 20 }), { maxLength: 4 }),
);

/** Every path into a JSON document (objects' keys, arrays' indices), the root excluded. */
function paths(doc: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (doc !== null && typeof doc === 'object') {
    for (const [k, v] of Object.entries(doc)) {
      const p = [...at, Array.isArray(doc) ? Number(k) : k];
      out.push(p);
      paths(v, p, out);
    }
  }
  return out;
}

type JsonMutation = { pick: number; value: unknown; remove: boolean };
const jsonMutation: fc.Arbitrary<JsonMutation> = fc.record({ pick: fc.nat(), value: jsonValue, remove: fc.boolean() });

function mutateJson(base: Uint8Array, mutations: readonly JsonMutation[]): Uint8Array {
  const doc = JSON.parse(new TextDecoder().decode(base)) as unknown;
  for (const m of mutations) {
    const all = paths(doc);
    const path = all[m.pick % all.length];
    const parent = path.slice(0, -1).reduce<Record<string | number, unknown>>((o, k) => o[k] as Record<string | number, unknown>, doc as Record<string, unknown>);
    const key = path[path.length - 1];
    if (m.remove && !Array.isArray(parent)) delete parent[key];
    else parent[key] = structuredClone(m.value);
  }
  return new TextEncoder().encode(JSON.stringify(doc));
}

/** A mutated file: its bytes mutated, or (for JSON files) values replaced. */
function mutated(base: Uint8Array, json: boolean): fc.Arbitrary<Uint8Array> {
  const bytes = fc.array(byteMutation, { minLength: 1, maxLength: 3 }).map((ms) => mutateBytes(base, ms));
  return json ? fc.oneof(bytes, fc.array(jsonMutation, { minLength: 1, maxLength: 3 }).map((ms) => mutateJson(base, ms))) : bytes;
}

/** .npy files with any header shape (huge ones included) over a few bytes of data, and huge header lengths. */
const hugeNpy: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.record({ dims: fc.array(fc.constantFrom(0, 1, 3, 2 ** 31 - 1, 2 ** 40, 2 ** 53), { maxLength: 4 }), data: fc.nat({ max: 64 }) }).map(({ dims, data }) => {
    const tuple = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
    const header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${tuple}, }`.padEnd(118) + '\n';
    return Uint8Array.from([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0, header.length & 255, header.length >> 8, ...new TextEncoder().encode(header), ...new Uint8Array(data)]);
  }),
  fc.integer({ min: 0, max: 2 ** 32 - 1 }).map((len) => {
    const out = Uint8Array.from([0x93, ...new TextEncoder().encode('NUMPY'), 2, 0, 0, 0, 0, 0, 32, 32, 10]);
    new DataView(out.buffer).setUint32(8, len, true);
    return out;
  }),
);

// ---------------------------------------------------------------------------------------------
// the check

/** Loads `bytes` written to `file`: it loads, or fails with a FormatError naming `file`, within the time and memory bounds. */
async function loadsOrNamesFile(file: string, load: () => Promise<unknown>): Promise<void> {
  const before = process.memoryUsage().arrayBuffers;
  const t0 = performance.now();
  try {
    await load();
  } catch (e) {
    if (!(e instanceof FormatError)) throw new Error(`${file}: expected a FormatError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    expect(e.file).toBe(file);
    expect(e.message.startsWith(`${file}: `)).toBe(true);
  }
  expect(performance.now() - t0).toBeLessThan(1000);
  // The inputs are a few KiB: nothing near 64 MiB may have been allocated for them.
  expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 2 ** 20);
}

const fuzz = (arb: fc.Arbitrary<Uint8Array>, file: string, load: () => Promise<unknown>, write = (bytes: Uint8Array) => writeFileSync(file, bytes)) =>
  fc.assert(
    fc.asyncProperty(arb, async (bytes) => {
      write(bytes);
      await loadsOrNamesFile(file, load);
    }),
    { seed: SEED, numRuns: RUNS },
  );

describe('fuzzed files load or fail with a FormatError naming the file', () => {
  it('graph JSON with inline weights', async () => {
    const file = join(dir, 'inline.json');
    await fuzz(mutated(inlineJson, true), file, () => loadGraph(file));
  });

  it('graph JSON with a sidecar (either file mutated)', async () => {
    const file = join(dir, 'side.json');
    const bin = join(dir, 'side.bin');
    const pair = fc.oneof(
      mutated(sidecarJson, true).map((json) => ({ json, bin: Uint8Array.from(sidecarBin) })),
      mutated(sidecarBin, false).map((bin) => ({ json: Uint8Array.from(sidecarJson), bin })),
    );
    await fc.assert(
      fc.asyncProperty(pair, async (files) => {
        writeFileSync(file, files.json);
        writeFileSync(bin, files.bin);
        await loadsOrNamesFile(file, () => loadGraph(file));
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('.npy (mutated, and with huge declared shapes and header lengths)', async () => {
    const file = join(dir, 'a.npy');
    await fuzz(fc.oneof(mutated(npyFile, false), hugeNpy), file, () => readNpyFile(file));
  });

  it('conformance reproduction files', async () => {
    const file = join(dir, 'repro.json');
    await fuzz(mutated(reproFile, true), file, () => readRepro(file));
  });
});
