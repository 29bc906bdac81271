import { FormatError, GRAPH_FILE_LIMITS, MAX_ELEMENTS, describeIssue, evaluate, graphFromJson, graphToJson, jsonPath, validateFeeds, type Graph, type GraphJson, type RefTensor } from '@tessera/core';
import { z } from 'zod';
import type { SessionOptions } from '@tessera/runtime';
import type { ConformanceCase } from './arbitraries.js';
import { checkCase, compareOutputs, type CaseOutcome } from './check-case.js';
import { BOUND_IO_PROPERTY, type ConformanceFailure } from './runner.js';
import { checkTransformCase, type GraphTransform } from './transform.js';

/**
 * Reproduction files: one shrunk failing case, self-contained (the graph with its weights
 * inline, the feeds, the reference's value and bound, what the backend returned), plus the seed
 * and path that regenerate it from the suite. Numbers are stored as little-endian base64 so NaN,
 * ±Infinity, -0 and every float32 bit pattern survive.
 */
export const REPRO_FORMAT = 'tessera-conformance-repro';
export const REPRO_VERSION = 1;
/** Where `writeRepro` puts files unless told otherwise (relative to the working directory). */
export const REPRO_DIR = 'conformance-failures';

interface Float32Json {
  readonly shape: readonly number[];
  /** Little-endian float32, base64. */
  readonly float32: string;
}

interface ExpectedJson {
  readonly shape: readonly number[];
  /** Little-endian float64, base64: the reference value and, per element, its bound. */
  readonly value: string;
  readonly bound: string;
}

/** What a reproduction says about its failure, the same in the file and decoded. */
interface ReproFailure {
  readonly property: string;
  readonly backend: string;
  readonly seed: number;
  readonly path: string;
  readonly shrinks: number;
  /** The failure, in one line, as the suite reported it. */
  readonly summary: string;
  readonly error?: { readonly stage: string; readonly message: string };
  /** The replay line of the suite (runConformance options). */
  readonly message: string;
  /** Options of the rewrite, for a failure of a pass (backend 'pass:<name>'). */
  readonly transformOptions?: Record<string, unknown>;
}

export interface ReproJson extends ReproFailure {
  readonly format: typeof REPRO_FORMAT;
  readonly version: typeof REPRO_VERSION;
  readonly graph: GraphJson;
  readonly feeds: Readonly<Record<string, Float32Json>>;
  readonly expected: Readonly<Record<string, ExpectedJson>>;
  readonly actual?: Readonly<Record<string, Float32Json>>;
}

/** A reproduction, decoded. */
export interface Repro extends ReproFailure {
  readonly graph: Graph;
  readonly feeds: Readonly<Record<string, Float32Array>>;
  readonly expected: Readonly<Record<string, RefTensor>>;
  readonly actual?: Readonly<Record<string, Float32Array>>;
  /** The file it was read from. */
  readonly file?: string;
}

// ---------------------------------------------------------------------------------------------
// bytes

function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** Strict base64 (atob also takes white space and missing padding); bad text is a FormatError at `path`. */
function fromBase64(s: string, path: string): Uint8Array {
  let bin: string;
  try {
    if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new Error();
    bin = atob(s);
  } catch {
    throw new FormatError(path, `not base64 (${s.length} characters)`);
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function encodeF32(data: Float32Array): string {
  const bytes = new Uint8Array(data.length * 4);
  const dv = new DataView(bytes.buffer);
  data.forEach((v, i) => dv.setFloat32(i * 4, v, true));
  return toBase64(bytes);
}

/** `count` little-endian values of `size` bytes from base64 at `path`, refusing any other length. */
function decodeValues(s: string, path: string, count: number, size: 4 | 8): DataView {
  const bytes = fromBase64(s, path);
  if (bytes.length !== count * size) {
    throw new FormatError(path, `holds ${bytes.length} bytes, but its shape needs ${count * size} (${count} float${size * 8} values)`);
  }
  return new DataView(bytes.buffer);
}

function decodeF32(s: string, path: string, count: number): Float32Array {
  const dv = decodeValues(s, path, count, 4);
  return Float32Array.from({ length: count }, (_, i) => dv.getFloat32(i * 4, true));
}

function encodeF64(data: Float64Array): string {
  const bytes = new Uint8Array(data.length * 8);
  const dv = new DataView(bytes.buffer);
  data.forEach((v, i) => dv.setFloat64(i * 8, v, true));
  return toBase64(bytes);
}

function decodeF64(s: string, path: string, count: number): Float64Array {
  const dv = decodeValues(s, path, count, 8);
  return Float64Array.from({ length: count }, (_, i) => dv.getFloat64(i * 8, true));
}

// ---------------------------------------------------------------------------------------------
// to / from JSON

export interface ReproOptions {
  /** Options of the rewrite that failed (stored so the file replays it). */
  readonly transformOptions?: Record<string, unknown>;
}

/** The JSON document of a failure (pure: no file system). */
export function reproToJson(failure: ConformanceFailure, options: ReproOptions = {}): ReproJson {
  const g = failure.graphObject;
  let expected = failure.outcome.reference;
  if (!expected) {
    try {
      expected = evaluate(g, failure.feeds);
    } catch {
      expected = {};
    }
  }
  const shapeOf = (out: string) => [...g.value(g.outputs[out]).shape];
  const replayLine = failure.message.split('\n').find((l) => l.trim().startsWith('replay:'))?.trim() ?? '';
  return {
    format: REPRO_FORMAT,
    version: REPRO_VERSION,
    property: failure.property,
    backend: failure.backend,
    seed: failure.seed,
    path: failure.path,
    shrinks: failure.shrinks,
    summary: failure.outcome.summary,
    ...(failure.outcome.error ? { error: { ...failure.outcome.error } } : {}),
    message: replayLine,
    ...(options.transformOptions ? { transformOptions: options.transformOptions } : {}),
    graph: graphToJson(g, { weights: 'inline' }).json,
    feeds: Object.fromEntries(Object.entries(failure.feeds).map(([k, v]) => [k, { shape: [...g.value(k).shape], float32: encodeF32(v) }])),
    expected: Object.fromEntries(Object.entries(expected).map(([k, r]) => [k, { shape: [...r.shape], value: encodeF64(r.value), bound: encodeF64(r.bound) }])),
    ...(failure.outcome.actual
      ? { actual: Object.fromEntries(Object.entries(failure.outcome.actual).map(([k, v]) => [k, { shape: shapeOf(k), float32: encodeF32(v) }])) }
      : {}),
  };
}

/** Decodes a reproduction document; every problem is a FormatError naming the field (and `file`). */
export function reproFromJson(json: unknown, file?: string): Repro {
  try {
    return decodeRepro(json, file);
  } catch (e) {
    if (e instanceof FormatError && e.file === undefined && file !== undefined) throw new FormatError(e.path, e.problem, file);
    throw e;
  }
}

function decodeRepro(json: unknown, file: string | undefined): Repro {
  checkReproHeader(json);
  const parsed = reproSchema.safeParse(json);
  if (!parsed.success) {
    const { path, message } = describeIssue(parsed.error.issues[0], json);
    throw new FormatError(jsonPath(path) || '(root)', message);
  }
  const j = parsed.data;
  let graph: Graph;
  try {
    graph = graphFromJson(j.graph);
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`graph${e.path.startsWith('[') || !e.path ? '' : '.'}${e.path}`, e.problem);
    throw e;
  }
  const feeds = mapEntries(j.feeds, 'feeds', (v, at) => decodeF32(v.float32, `${at}.float32`, checkedCount(v.shape, `${at}.shape`)));
  try {
    validateFeeds(graph, feeds);
  } catch (e) {
    throw new FormatError('feeds', e instanceof Error ? e.message : String(e));
  }
  const expected = mapEntries(j.expected, 'expected', (v, at) => {
    const count = checkedCount(v.shape, `${at}.shape`);
    return { shape: v.shape, value: decodeF64(v.value, `${at}.value`, count), bound: decodeF64(v.bound, `${at}.bound`, count) };
  });
  const actual = j.actual ? mapEntries(j.actual, 'actual', (v, at) => decodeF32(v.float32, `${at}.float32`, checkedCount(v.shape, `${at}.shape`))) : undefined;
  const { format: _f, version: _v, graph: _g, feeds: _fe, expected: _e, actual: _a, ...failure } = j;
  return { ...failure, graph, feeds, expected, ...(actual ? { actual } : {}), ...(file ? { file } : {}) };
}

/** Format and version first, so a foreign or newer file is named as such, not by its first odd field. */
function checkReproHeader(json: unknown): void {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new FormatError('(root)', `expected a JSON object (a ${REPRO_FORMAT} file)`);
  const j = json as Record<string, unknown>;
  if (j.format !== REPRO_FORMAT) throw new FormatError('format', `expected "${REPRO_FORMAT}": not a reproduction file`);
  if (j.version !== REPRO_VERSION) throw new FormatError('version', `version ${String(j.version)} is not supported (expected ${REPRO_VERSION})`);
}

function checkedCount(shape: readonly number[], path: string): number {
  const n = shape.reduce((p, d) => p * d, 1);
  if (n > MAX_ELEMENTS) throw new FormatError(path, `[${shape.join(',')}] has more than ${MAX_ELEMENTS} elements`);
  return n;
}

function mapEntries<T, U>(record: Readonly<Record<string, T>>, at: string, decode: (v: T, path: string) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, decode(v, jsonPath([at, k]))]));
}

const dims = z.array(z.number().int().min(0).max(MAX_ELEMENTS)).max(GRAPH_FILE_LIMITS.maxRank);
const float32Json = z.strictObject({ shape: dims, float32: z.string() });
const reproSchema = z.strictObject({
  format: z.literal(REPRO_FORMAT),
  version: z.literal(REPRO_VERSION),
  property: z.string(),
  backend: z.string(),
  seed: z.number().int().min(-(2 ** 31)).max(2 ** 32 - 1),
  path: z.string(),
  shrinks: z.number().int().min(0),
  summary: z.string(),
  error: z.strictObject({ stage: z.string(), message: z.string() }).optional(),
  message: z.string(),
  transformOptions: z.record(z.string(), z.unknown()).optional(),
  // graphFromJson checks the graph, naming its own paths.
  graph: z.unknown(),
  feeds: z.record(z.string(), float32Json),
  expected: z.record(z.string(), z.strictObject({ shape: dims, value: z.string(), bound: z.string() })),
  actual: z.record(z.string(), float32Json).optional(),
});

// ---------------------------------------------------------------------------------------------
// files (Node)

/** A file name for a failure: backend, property, seed and a hash of its content. */
export function reproFileName(json: ReproJson): string {
  const text = JSON.stringify(json);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_');
  return `${safe(json.backend)}-${safe(json.property)}-seed${json.seed}-${h.toString(16).padStart(8, '0')}.json`;
}

/** Writes a failure as a reproduction file under `dir` (default `conformance-failures/`); resolves with its path. */
export async function writeRepro(failure: ConformanceFailure, options: ReproOptions & { readonly dir?: string } = {}): Promise<string> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const json = reproToJson(failure, options);
  const dir = options.dir ?? REPRO_DIR;
  await mkdir(dir, { recursive: true });
  const file = join(dir, reproFileName(json));
  await writeFile(file, `${JSON.stringify(json, null, 1)}\n`);
  return file;
}

/** Largest reproduction file read (a shrunk case is small; this only bounds the read). */
export const REPRO_MAX_BYTES = 256 * 2 ** 20;

/** Reads a reproduction file (at most REPRO_MAX_BYTES); errors are FormatErrors naming the file and field. */
export async function readRepro(file: string): Promise<Repro> {
  const { readTextBounded } = await import('@tessera/core/node');
  const text = await readTextBounded(file, REPRO_MAX_BYTES, 'reproduction file');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FormatError('', `not valid JSON: ${e instanceof Error ? e.message : String(e)}`, file);
  }
  return reproFromJson(json, file);
}

// ---------------------------------------------------------------------------------------------
// replay

export interface ReplayOptions {
  /** Backends to run the case on. Default: the one that failed. */
  readonly backends?: readonly string[];
  readonly container?: SessionOptions['container'];
  /** Rewrites by name, to replay a pass failure (backend 'pass:<name>'). */
  readonly transforms?: Readonly<Record<string, GraphTransform>>;
}

export interface ReplayResult {
  readonly backend: string;
  readonly ok: boolean;
  readonly outcome: CaseOutcome;
  /** The recorded failure happened again: the case fails with the same one-line summary. */
  readonly reproduced: boolean;
  /** The outputs are bit for bit those recorded (NaN payloads aside); undefined without recorded outputs. */
  readonly sameActual?: boolean;
  /** The reference computed now differs from the recorded one (the reference itself changed). */
  readonly referenceChanged: boolean;
}

/** Runs exactly the recorded case again on each backend (a `pass:<name>` backend re-runs that rewrite). */
export async function replayRepro(repro: Repro | string, options: ReplayOptions = {}): Promise<ReplayResult[]> {
  const r = typeof repro === 'string' ? await readRepro(repro) : repro;
  const c: ConformanceCase = { graph: r.graph, feeds: r.feeds };
  const results: ReplayResult[] = [];
  for (const backend of options.backends ?? [r.backend]) {
    let outcome: CaseOutcome;
    if (backend.startsWith('pass:')) {
      const t = options.transforms?.[backend.slice(5)];
      if (!t) throw new Error(`replaying on '${backend}' needs the rewrite '${backend.slice(5)}' (known: ${Object.keys(options.transforms ?? {}).join(', ') || 'none'})`);
      outcome = await checkTransformCase(t, c, r.transformOptions);
    } else {
      // A failure of the bound-IO property replays through bound inputs and outputs too.
      outcome = await checkCase(c, { backend, container: options.container, bindIO: r.property === BOUND_IO_PROPERTY });
    }
    const sameActual = r.actual && outcome.actual ? sameOutputs(r.actual, outcome.actual) : undefined;
    results.push({
      backend,
      ok: outcome.ok,
      outcome,
      reproduced: !outcome.ok && outcome.summary === r.summary,
      ...(sameActual !== undefined ? { sameActual } : {}),
      referenceChanged: !!outcome.reference && !sameRefs(r.expected, outcome.reference),
    });
  }
  return results;
}

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!(Object.is(a[i], b[i]) || (Number.isNaN(a[i]) && Number.isNaN(b[i])))) return false;
  return true;
}

function sameOutputs(a: Readonly<Record<string, Float32Array>>, b: Readonly<Record<string, Float32Array>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] !== undefined && sameBits(a[k], b[k]));
}

function sameRefs(a: Readonly<Record<string, RefTensor>>, b: Readonly<Record<string, RefTensor>>): boolean {
  return Object.keys(b).every((k) => a[k] !== undefined && sameBits(a[k].value, b[k].value) && sameBits(a[k].bound, b[k].bound));
}

/** Re-compares recorded outputs with the recorded reference (no backend involved). */
export function recheckRecorded(r: Repro): CaseOutcome | undefined {
  return r.actual ? compareOutputs(r.graph, r.actual, r.expected) : undefined;
}
