import { z } from 'zod';
import { OpError, TesseraError } from '../errors.js';
import { Graph, type Node, type ValueInfo } from '../graph.js';
import { OPS, isOpName, opSpec } from '../ops/index.js';
import { MAX_ELEMENTS, numel, shapeStr, type Shape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { base64DecodedLength, decodeBase64Into, encodeBase64, float32FromLittleEndian, float32ToLittleEndian, LITTLE_ENDIAN_HOST, swap32InPlace } from './bytes.js';
import { FormatError, jsonPath, preview } from './format-error.js';
import { describeIssue } from '../zod-issues.js';

/**
 * The Tessera graph file (docs: "Graph files"): a versioned JSON document holding a graph's
 * inputs, constants (weights), nodes and outputs. Node output shapes are not stored: they are
 * inferred on load and the Graph constructor verifies the result. Weights are little-endian
 * float32, either inline as base64 or as byte ranges of a sidecar binary file.
 *
 * Loading trusts nothing: the document is checked for prototype-pollution keys, nesting depth
 * and sizes before zod validates its structure, every size is compared with the data actually
 * present before anything proportional to it is allocated, and every error is a FormatError
 * (a TesseraError) that starts with the JSON path of the problem.
 */

export const GRAPH_FORMAT = 'tessera-graph';
export const GRAPH_FORMAT_VERSION = 1;

/** Limits on what a graph file may declare; anything beyond is rejected before it is used. */
export const GRAPH_FILE_LIMITS = Object.freeze({
  /** Entries of any JSON array (nodes, inputs, constants, ...). */
  maxArrayLength: 100_000,
  /** Keys of any JSON object (outputs, attrs, ...). */
  maxObjectKeys: 100_000,
  /** Nesting depth of the document (a valid file needs about 7). */
  maxDepth: 32,
  /** Dimensions of a shape. */
  maxRank: 8,
  /** Characters of a name. */
  maxNameLength: 1024,
  /** Operands of a node. */
  maxOperands: 16,
});

/** Keys and names that could reach an object's prototype if a consumer used them as keys. */
const FORBIDDEN_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export type WeightData = { base64: string } | { offset: number; length: number };

export interface GraphJson {
  format: typeof GRAPH_FORMAT;
  version: typeof GRAPH_FORMAT_VERSION;
  name: string;
  inputs: { name: string; shape: number[] }[];
  constants: { name: string; shape: number[]; data: WeightData }[];
  nodes: { name: string; op: string; attrs: Record<string, unknown>; inputs: string[] }[];
  /** Output name -> value name. */
  outputs: Record<string, string>;
}

export interface GraphToJsonOptions {
  /** `inline` (default): base64 in the JSON; `sidecar`: byte ranges of the returned `sidecar` buffer. */
  weights?: 'inline' | 'sidecar';
}

export interface GraphJsonResult {
  json: GraphJson;
  /** The weights, when `weights: 'sidecar'`: constants back to back, little-endian float32. */
  sidecar?: Uint8Array;
}

// ---------------------------------------------------------------------------------------------
// Saving

export function graphToJson(graph: Graph, opts: GraphToJsonOptions = {}): GraphJsonResult {
  const mode = opts.weights ?? 'inline';
  if (mode !== 'inline' && mode !== 'sidecar') throw new TesseraError(`weights must be 'inline' or 'sidecar', got ${preview(mode)}`);
  checkSavableName(graph.name, 'graph name');
  for (const v of graph.inputs) checkSavableName(v.name, 'input name');
  for (const name of graph.constants.keys()) checkSavableName(name, 'constant name');
  for (const n of graph.nodes) checkSavableName(n.name, 'node name');
  for (const [k, v] of Object.entries(graph.outputs)) {
    checkSavableName(k, 'output name');
    checkSavableName(v, 'output value');
  }
  const constants = [...graph.constants];
  let sidecar: Uint8Array | undefined;
  const data: WeightData[] = [];
  if (mode === 'sidecar') {
    const total = constants.reduce((s, [, t]) => s + t.data.length * 4, 0);
    sidecar = new Uint8Array(total);
    let offset = 0;
    for (const [, t] of constants) {
      sidecar.set(float32ToLittleEndian(t.data), offset);
      data.push({ offset, length: t.data.length });
      offset += t.data.length * 4;
    }
  } else {
    for (const [, t] of constants) data.push({ base64: encodeBase64(float32ToLittleEndian(t.data)) });
  }
  const json: GraphJson = {
    format: GRAPH_FORMAT,
    version: GRAPH_FORMAT_VERSION,
    name: graph.name,
    inputs: graph.inputs.map((v) => ({ name: v.name, shape: [...v.shape] })),
    constants: constants.map(([name, t], i) => ({ name, shape: [...t.shape], data: data[i] })),
    nodes: graph.nodes.map((n) => ({ name: n.name, op: n.op, attrs: cloneJson(n.attrs), inputs: [...n.inputs] })),
    outputs: Object.fromEntries(Object.entries(graph.outputs)),
  };
  return sidecar ? { json, sidecar } : { json };
}

/** The document as text: one input, constant or node per line, so diffs stay readable. */
export function stringifyGraphJson(json: GraphJson): string {
  const list = (items: readonly unknown[]) =>
    items.length === 0 ? '[]' : `[\n${items.map((x) => `    ${JSON.stringify(x)}`).join(',\n')}\n  ]`;
  return [
    '{',
    `  "format": ${JSON.stringify(json.format)},`,
    `  "version": ${JSON.stringify(json.version)},`,
    `  "name": ${JSON.stringify(json.name)},`,
    `  "inputs": ${list(json.inputs)},`,
    `  "constants": ${list(json.constants)},`,
    `  "nodes": ${list(json.nodes)},`,
    `  "outputs": ${JSON.stringify(json.outputs)}`,
    '}',
    '',
  ].join('\n');
}

/** Refuses at save time a name the loader would refuse, so no file is written that cannot be read. */
function checkSavableName(s: string, what: string): void {
  if (FORBIDDEN_NAMES.has(s) || s.length < 1 || s.length > GRAPH_FILE_LIMITS.maxNameLength) {
    throw new TesseraError(
      `cannot save: ${what} ${preview(s)} is not allowed in a graph file (names have 1 to ${GRAPH_FILE_LIMITS.maxNameLength} characters and are not ${[...FORBIDDEN_NAMES].join(', ')})`,
    );
  }
}

function cloneJson(value: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------
// Loading

/** Parses graph file text (see graphFromJson). */
export function parseGraphJson(text: string, sidecar?: Uint8Array): Graph {
  if (typeof text !== 'string') throw new FormatError('', `graph file text must be a string, got ${typeof text}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FormatError('', `not valid JSON: ${(e as Error).message}`);
  }
  return graphFromJson(json, sidecar);
}

/** True if the (unvalidated) document keeps any weights in a sidecar file. Never throws. */
export function usesSidecar(json: unknown): boolean {
  if (!isPlainObject(json) || !Array.isArray(json.constants)) return false;
  return json.constants.some((c: unknown) => isPlainObject(c) && isPlainObject(c.data) && Object.hasOwn(c.data, 'offset'));
}

/**
 * Builds a Graph from a parsed graph file, validating everything. `sidecar` is the binary file
 * the `{offset, length}` weights point into. Throws FormatError (a TesseraError).
 */
export function graphFromJson(json: unknown, sidecar?: Uint8Array): Graph {
  if (sidecar !== undefined && !(sidecar instanceof Uint8Array)) {
    throw new FormatError('', `the sidecar must be a Uint8Array, got ${Object.prototype.toString.call(sidecar).slice(8, -1)}`);
  }
  scanJson(json);
  checkHeader(json);
  const parsed = documentSchema.safeParse(json);
  if (!parsed.success) throw issueError(parsed.error.issues, [], json);
  const doc = parsed.data;

  // Every value is defined once: inputs, then constants, then nodes.
  const defined = new Map<string, string>();
  const define = (name: string, path: string) => {
    const first = defined.get(name);
    if (first !== undefined) throw new FormatError(`${path}.name`, `value '${name}' is already defined at ${first}`);
    defined.set(name, path);
  };
  doc.inputs.forEach((v, i) => {
    checkShapeAt(v.shape, `inputs[${i}].shape`);
    define(v.name, `inputs[${i}]`);
  });
  doc.constants.forEach((c, i) => {
    checkShapeAt(c.shape, `constants[${i}].shape`);
    checkWeightData(c.data, c.shape, sidecar, `constants[${i}].data`);
    define(c.name, `constants[${i}]`);
  });
  doc.nodes.forEach((n, i) => define(n.name, `nodes[${i}]`));

  // Each node alone: its op, attributes and operands.
  const producers = new Map<string, number>();
  doc.nodes.forEach((n, i) => producers.set(n.name, i));
  const attrs = doc.nodes.map((n, i) => {
    const at = `nodes[${i}]`;
    if (!isOpName(n.op)) throw new FormatError(`${at}.op`, `unknown op ${preview(n.op)} (known: ${Object.keys(OPS).join(', ')})`);
    const spec = opSpec(n.op);
    const parsedAttrs = spec.attrs.safeParse(n.attrs);
    if (!parsedAttrs.success) {
      throw issueError(parsedAttrs.error.issues, ['nodes', i, 'attrs'], n.attrs, { name: n.name, op: n.op, schema: spec.attrs });
    }
    if (n.inputs.length !== spec.inputs.length) {
      const takes = `${spec.inputs.length} operand${spec.inputs.length === 1 ? '' : 's'} (${spec.inputs.join(', ')})`;
      throw new FormatError(`${at}.inputs`, `${n.op} takes ${takes}, got ${n.inputs.length} (node '${n.name}')`);
    }
    n.inputs.forEach((operand, k) => {
      if (!defined.has(operand)) {
        throw new FormatError(`${at}.inputs[${k}]`, `operand '${operand}' (${spec.inputs[k]} of node '${n.name}') is not defined`);
      }
    });
    return parsedAttrs.data as Record<string, unknown>;
  });

  // Shapes, in dependency order; a node that never becomes ready is on (or behind) a cycle.
  const shapes = new Map<string, Shape>();
  for (const v of doc.inputs) shapes.set(v.name, v.shape);
  for (const c of doc.constants) shapes.set(c.name, c.shape);
  const order = topologicalOrder(doc.nodes, producers);
  for (const i of order) {
    const n = doc.nodes[i];
    const spec = opSpec(n.op);
    try {
      const out = spec.inferShape(n.inputs.map((v) => shapes.get(v)!), attrs[i]);
      checkShapeAt(out, 'output shape');
      shapes.set(n.name, out);
    } catch (e) {
      if (e instanceof OpError || e instanceof FormatError) throw new FormatError(`nodes[${i}] '${n.name}' (${n.op})`, e.message);
      throw e;
    }
  }

  const outputNames = Object.keys(doc.outputs);
  if (outputNames.length === 0) throw new FormatError('outputs', 'the graph has no outputs');
  for (const out of outputNames) {
    const value = doc.outputs[out];
    if (!defined.has(value)) throw new FormatError(jsonPath(['outputs', out]), `value '${value}' is not defined`);
  }

  // Only now, with every size checked against the data present, decode the weights.
  const constants = new Map<string, Tensor>();
  doc.constants.forEach((c, i) => constants.set(c.name, new Tensor(c.shape, decodeWeights(c.data, c.shape, sidecar, `constants[${i}].data`))));

  const inputs: ValueInfo[] = doc.inputs.map((v) => ({ name: v.name, shape: Object.freeze([...v.shape]), dtype: 'float32' }));
  const nodes: Node[] = doc.nodes.map((n, i) => ({
    name: n.name,
    op: n.op,
    attrs: attrs[i],
    inputs: n.inputs,
    output: { name: n.name, shape: Object.freeze([...shapes.get(n.name)!]), dtype: 'float32' },
  }));
  const outputs = Object.fromEntries(outputNames.map((k) => [k, doc.outputs[k]]));
  try {
    return new Graph({ name: doc.name, inputs, constants, nodes, outputs });
  } catch (e) {
    if (e instanceof TesseraError) throw new FormatError('(graph)', e.message);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Structure

const NAME_RULE = `a name must not be ${[...FORBIDDEN_NAMES].map((n) => `'${n}'`).join(', ')}`;
const name = z
  .string()
  .min(1)
  .max(GRAPH_FILE_LIMITS.maxNameLength)
  .refine((s) => !FORBIDDEN_NAMES.has(s), { message: `reserved name: ${NAME_RULE}` });
const shape = z.array(z.number().int().min(1).max(MAX_ELEMENTS)).max(GRAPH_FILE_LIMITS.maxRank);
const weightData = z.strictObject({
  base64: z.string().optional(),
  offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  length: z.number().int().min(0).max(MAX_ELEMENTS).optional(),
});

const documentSchema = z.strictObject({
  format: z.literal(GRAPH_FORMAT),
  version: z.literal(GRAPH_FORMAT_VERSION),
  name,
  inputs: z.array(z.strictObject({ name, shape })),
  constants: z.array(z.strictObject({ name, shape, data: weightData })),
  nodes: z.array(
    z.strictObject({
      name,
      op: z.string().max(GRAPH_FILE_LIMITS.maxNameLength),
      attrs: z.record(z.string(), z.unknown()),
      inputs: z.array(name).max(GRAPH_FILE_LIMITS.maxOperands),
    }),
  ),
  outputs: z.record(name, name),
});

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

interface ScanItem {
  readonly value: unknown;
  readonly key: PropertyKey | undefined;
  readonly parent: ScanItem | undefined;
  readonly depth: number;
}

function pathOf(item: ScanItem): string {
  return jsonPath(pathSegments(item)) || '(root)';
}

/**
 * Walks the whole document once, without recursion: only JSON types (plain objects, arrays,
 * strings, finite numbers, booleans, null), no key that could reach a prototype, bounded depth,
 * array lengths and key counts. Objects seen twice (possible only in a document built in code)
 * are walked once, so a cyclic object cannot hang the walk.
 */
function scanJson(root: unknown): void {
  const L = GRAPH_FILE_LIMITS;
  const seen = new Set<object>();
  const stack: ScanItem[] = [{ value: root, key: undefined, parent: undefined, depth: 0 }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    const v = item.value;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new FormatError(pathOf(item), `${v} is not a JSON number`);
      continue;
    }
    if (typeof v !== 'object') throw new FormatError(pathOf(item), `a ${typeof v} is not a JSON value`);
    if (seen.has(v)) continue;
    seen.add(v);
    if (item.depth >= L.maxDepth) throw new FormatError(pathOf(item), `nested more than ${L.maxDepth} levels deep`);
    if (Array.isArray(v)) {
      if (v.length > L.maxArrayLength) {
        throw new FormatError(pathOf(item), `an array of ${v.length} entries is longer than the limit of ${L.maxArrayLength}`);
      }
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], key: i, parent: item, depth: item.depth + 1 });
      continue;
    }
    if (!isPlainObject(v)) {
      const tag = Object.prototype.toString.call(v).slice(8, -1);
      throw new FormatError(pathOf(item), `${tag === 'Object' ? 'an object with a prototype other than Object.prototype' : `a ${tag}`} is not a JSON value`);
    }
    const keys = Object.keys(v);
    if (keys.length > L.maxObjectKeys) {
      throw new FormatError(pathOf(item), `an object with ${keys.length} keys has more than the limit of ${L.maxObjectKeys}`);
    }
    for (const k of keys) {
      if (FORBIDDEN_NAMES.has(k)) {
        throw new FormatError(`${jsonPath([...pathSegments(item), k])}`, `forbidden key '${k}' (${NAME_RULE.replace('a name', 'a key')})`);
      }
    }
    for (let i = keys.length - 1; i >= 0; i--) stack.push({ value: v[keys[i]], key: keys[i], parent: item, depth: item.depth + 1 });
  }
}

function pathSegments(item: ScanItem): PropertyKey[] {
  const segments: PropertyKey[] = [];
  for (let p: ScanItem | undefined = item; p && p.key !== undefined; p = p.parent) segments.push(p.key);
  return segments.reverse();
}

/** Format and version first, so an old or foreign file gets a message about that, not about its fields. */
function checkHeader(json: unknown): void {
  if (!isPlainObject(json)) throw new FormatError('(root)', `expected a JSON object, got ${preview(json)}`);
  if (!Object.hasOwn(json, 'format')) throw new FormatError('format', `missing; a Tessera graph file has "format": "${GRAPH_FORMAT}"`);
  if (json.format !== GRAPH_FORMAT) throw new FormatError('format', `expected "${GRAPH_FORMAT}", got ${preview(json.format)}`);
  if (!Object.hasOwn(json, 'version')) throw new FormatError('version', `missing; expected ${GRAPH_FORMAT_VERSION}`);
  if (json.version !== GRAPH_FORMAT_VERSION) {
    throw new FormatError('version', `unsupported version ${preview(json.version)} (this reader supports version ${GRAPH_FORMAT_VERSION})`);
  }
}

function checkShapeAt(s: Shape, path: string): void {
  if (s.length > GRAPH_FILE_LIMITS.maxRank) throw new FormatError(path, `${shapeStr(s)} has more than ${GRAPH_FILE_LIMITS.maxRank} dimensions`);
  for (const d of s) {
    if (!Number.isInteger(d) || d < 1) throw new FormatError(path, `${shapeStr(s)} has a dimension that is not a positive integer`);
  }
  // At most 8 factors below 2^31 each: the product is exact enough in float64 to compare.
  if (numel(s) > MAX_ELEMENTS) throw new FormatError(path, `${shapeStr(s)} has more than ${MAX_ELEMENTS} elements`);
}

// ---------------------------------------------------------------------------------------------
// Weights

type ParsedWeightData = z.output<typeof weightData>;

/** Checks a constant's data against its shape and the sidecar, from lengths alone (no allocation). */
function checkWeightData(data: ParsedWeightData, s: Shape, sidecar: Uint8Array | undefined, path: string): void {
  const hasInline = data.base64 !== undefined;
  const hasRange = data.offset !== undefined || data.length !== undefined;
  if (hasInline === hasRange) {
    throw new FormatError(path, `expected either {"base64": string} or {"offset": bytes, "length": floats}, got keys ${Object.keys(data).join(', ') || '(none)'}`);
  }
  const count = numel(s);
  if (hasInline) {
    const bytes = base64DecodedLength(data.base64!);
    if (typeof bytes === 'string') throw new FormatError(`${path}.base64`, bytes);
    if (bytes !== count * 4) {
      throw new FormatError(`${path}.base64`, `decodes to ${bytes} bytes, but shape ${shapeStr(s)} needs ${count * 4} bytes (${count} float32 values)`);
    }
    return;
  }
  if (data.offset === undefined) throw new FormatError(`${path}.offset`, 'missing (the byte offset into the sidecar file)');
  if (data.length === undefined) throw new FormatError(`${path}.length`, 'missing (the number of float32 values)');
  if (data.length !== count) throw new FormatError(`${path}.length`, `${data.length} floats, but shape ${shapeStr(s)} has ${count} elements`);
  if (sidecar === undefined) throw new FormatError(path, 'the weights are in a sidecar file, but no sidecar was given');
  const end = data.offset + count * 4;
  if (end > sidecar.byteLength) {
    throw new FormatError(path, `bytes ${data.offset}..${end} are outside the sidecar file of ${sidecar.byteLength} bytes`);
  }
}

/** Decodes data already checked by checkWeightData; allocates exactly numel(shape) floats. */
function decodeWeights(data: ParsedWeightData, s: Shape, sidecar: Uint8Array | undefined, path: string): Float32Array {
  const count = numel(s);
  if (data.base64 !== undefined) {
    const out = new Float32Array(count);
    const bytes = new Uint8Array(out.buffer);
    const problem = decodeBase64Into(data.base64, bytes);
    if (problem !== undefined) throw new FormatError(`${path}.base64`, problem);
    if (!LITTLE_ENDIAN_HOST) swap32InPlace(bytes);
    return out;
  }
  return float32FromLittleEndian(sidecar!, data.offset!, count);
}

// ---------------------------------------------------------------------------------------------
// Graph order

/** Kahn's algorithm over node indices; on a cycle, names one. */
function topologicalOrder(nodes: readonly { name: string; inputs: readonly string[] }[], producers: ReadonlyMap<string, number>): number[] {
  const pending = new Int32Array(nodes.length);
  const consumers: number[][] = nodes.map(() => []);
  const ready: number[] = [];
  nodes.forEach((n, i) => {
    for (const v of n.inputs) {
      const p = producers.get(v);
      if (p !== undefined) {
        pending[i]++;
        consumers[p].push(i);
      }
    }
    if (pending[i] === 0) ready.push(i);
  });
  for (let r = 0; r < ready.length; r++) {
    for (const c of consumers[ready[r]]) if (--pending[c] === 0) ready.push(c);
  }
  if (ready.length === nodes.length) return ready;
  // Walk back from a stuck node through stuck producers until a node repeats: that is a cycle.
  let at = pending.findIndex((p) => p > 0);
  const visitedAt = new Map<number, number>();
  const walk: number[] = [];
  while (!visitedAt.has(at)) {
    visitedAt.set(at, walk.length);
    walk.push(at);
    const next = nodes[at].inputs.map((v) => producers.get(v)).find((p) => p !== undefined && pending[p] > 0);
    at = next!;
  }
  const cycle = walk.slice(visitedAt.get(at)!).reverse();
  cycle.push(cycle[0]);
  const shown = cycle.length > 9 ? [...cycle.slice(0, 8), -1, cycle[cycle.length - 1]] : cycle;
  throw new FormatError('nodes', `cycle: ${shown.map((i) => (i < 0 ? '…' : `nodes[${i}] '${nodes[i].name}'`)).join(' -> ')}`);
}

// ---------------------------------------------------------------------------------------------
// zod issues -> one FormatError

const KEY_RULE = `a key must have 1 to ${GRAPH_FILE_LIMITS.maxNameLength} characters`;

/** The first issue at its JSON path, naming the node when the issue is in its attributes. */
function issueError(issues: readonly z.core.$ZodIssue[], base: PropertyKey[], input: unknown, node?: { name: string; op: string; schema: z.ZodType }): FormatError {
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  const where = node ? ` (node '${node.name}', op ${node.op})` : '';
  const { path, message } = describeIssue(issues[0], input, node ? { op: node.op, schema: node.schema } : { keyRule: KEY_RULE });
  return new FormatError(jsonPath([...base, ...path]) || '(root)', `${message}${where}${more}`);
}
