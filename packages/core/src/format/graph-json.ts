import { z } from 'zod';
import { OpError, TesseraError } from '../errors.js';
import { Graph, type Node, type ValueInfo } from '../graph.js';
import { OPS, acceptsArity, arityText, isOpName, opSpec, operandName } from '../ops/index.js';
import { MAX_ELEMENTS, numel, shapeStr, type Shape } from '../shape.js';
import { STORED_BATCH } from '../batch.js';
import { Tensor } from '../tensor.js';
import { FormatError, jsonPath, preview } from './format-error.js';
import { FORBIDDEN_NAMES, GRAPH_FILE_LIMITS, NAME_RULE, isPlainObject, scanJson } from './json-guard.js';
import { decodeAttrs, encodeAttrs } from './signed-zero.js';
import { checkWeightData, decodeWeights, encodeWeights, type WeightData } from './weights.js';
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

export { GRAPH_FILE_LIMITS } from './json-guard.js';
export type { WeightData } from './weights.js';

export interface GraphJson {
  format: typeof GRAPH_FORMAT;
  version: typeof GRAPH_FORMAT_VERSION;
  name: string;
  /** A first dimension of null: the batch is open (docs/FORMAT.md). */
  inputs: { name: string; shape: (number | null)[] }[];
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
  for (const n of graph.nodes) {
    checkSavableName(n.name, 'node name');
    if (n.inputs.length > GRAPH_FILE_LIMITS.maxOperands) {
      throw new TesseraError(`cannot save: node '${n.name}' (${n.op}) has ${n.inputs.length} operands; a graph file holds at most ${GRAPH_FILE_LIMITS.maxOperands} per node`);
    }
  }
  for (const [k, v] of Object.entries(graph.outputs)) {
    checkSavableName(k, 'output name');
    checkSavableName(v, 'output value');
  }
  const constants = [...graph.constants];
  const { data, sidecar } = encodeWeights(constants.map(([, t]) => t), mode);
  const json: GraphJson = {
    format: GRAPH_FORMAT,
    version: GRAPH_FORMAT_VERSION,
    name: graph.name,
    inputs: graph.inputs.map((v) => ({ name: v.name, shape: v.openBatch ? [null, ...v.shape.slice(1)] : [...v.shape] })),
    constants: constants.map(([name, t], i) => ({ name, shape: [...t.shape], data: data[i] })),
    nodes: graph.nodes.map((n) => ({ name: n.name, op: n.op, attrs: encodeAttrs(n.attrs), inputs: [...n.inputs] })),
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
 * The bytes of the sidecar the (unvalidated) document's constants reach: the largest
 * offset + 4 * length among those that are non-negative integers. Never throws.
 */
export function sidecarBytesNeeded(json: unknown): number {
  if (!isPlainObject(json) || !Array.isArray(json.constants)) return 0;
  let need = 0;
  for (const c of json.constants as unknown[]) {
    const data = isPlainObject(c) && isPlainObject(c.data) ? c.data : undefined;
    const { offset, length } = data ?? {};
    if (isCount(offset) && isCount(length)) need = Math.max(need, offset + 4 * length);
  }
  return need;
}

const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

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
  const defined = defineValues(doc, sidecar);
  const attrs = doc.nodes.map((n, i) => checkNode(n, i, defined));
  const shapes = inferShapes(doc, attrs);
  const outputNames = Object.keys(doc.outputs);
  if (outputNames.length === 0) throw new FormatError('outputs', 'the graph has no outputs');
  for (const out of outputNames) {
    const value = doc.outputs[out];
    if (!defined.has(value)) throw new FormatError(jsonPath(['outputs', out]), `value '${value}' is not defined`);
  }
  return assemble(doc, attrs, shapes, sidecar);
}

type GraphDocument = z.output<typeof documentSchema>;
type NodeEntry = GraphDocument['nodes'][number];

/** Every value is defined once: inputs, then constants, then nodes. Returns name -> where it is defined. */
function defineValues(doc: GraphDocument, sidecar: Uint8Array | undefined): Map<string, string> {
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
  return defined;
}

/** A node alone: its op, attributes and operands. Returns its parsed attributes. */
function checkNode(n: NodeEntry, i: number, defined: ReadonlyMap<string, string>): Record<string, unknown> {
  const at = `nodes[${i}]`;
  if (!isOpName(n.op)) throw new FormatError(`${at}.op`, `unknown op ${preview(n.op)} (known: ${Object.keys(OPS).join(', ')})`);
  const spec = opSpec(n.op);
  const parsedAttrs = spec.attrs.safeParse(decodeAttrs(n.attrs));
  if (!parsedAttrs.success) {
    throw issueError(parsedAttrs.error.issues, ['nodes', i, 'attrs'], n.attrs, { name: n.name, op: n.op, schema: spec.attrs });
  }
  if (!acceptsArity(spec, n.inputs.length)) {
    throw new FormatError(`${at}.inputs`, `${n.op} takes ${arityText(spec)}, got ${n.inputs.length} (node '${n.name}')`);
  }
  n.inputs.forEach((operand, k) => {
    if (!defined.has(operand)) {
      throw new FormatError(`${at}.inputs[${k}]`, `operand '${operand}' (${operandName(spec, k)} of node '${n.name}') is not defined`);
    }
  });
  return parsedAttrs.data as Record<string, unknown>;
}

/** Shapes, in dependency order; a node that never becomes ready is on (or behind) a cycle. */
function inferShapes(doc: GraphDocument, attrs: readonly Record<string, unknown>[]): Map<string, Shape> {
  const shapes = new Map<string, Shape>();
  for (const v of doc.inputs) shapes.set(v.name, v.shape);
  for (const c of doc.constants) shapes.set(c.name, c.shape);
  const producers = new Map<string, number>();
  doc.nodes.forEach((n, i) => producers.set(n.name, i));
  for (const i of topologicalOrder(doc.nodes, producers)) {
    const n = doc.nodes[i];
    try {
      const out = opSpec(n.op).inferShape(n.inputs.map((v) => shapes.get(v)!), attrs[i]);
      checkShapeAt(out, 'output shape');
      shapes.set(n.name, out);
    } catch (e) {
      if (e instanceof OpError || e instanceof FormatError) throw new FormatError(`nodes[${i}] '${n.name}' (${n.op})`, e.message);
      throw e;
    }
  }
  return shapes;
}

/** The Graph, once every size is checked against the data present: only now are the weights decoded. */
function assemble(doc: GraphDocument, attrs: readonly Record<string, unknown>[], shapes: ReadonlyMap<string, Shape>, sidecar: Uint8Array | undefined): Graph {
  const constants = new Map<string, Tensor>();
  doc.constants.forEach((c, i) => constants.set(c.name, new Tensor(c.shape, decodeWeights(c.data, c.shape, sidecar, `constants[${i}].data`))));
  const inputs: ValueInfo[] = doc.inputs.map((v) => ({ name: v.name, shape: Object.freeze([...v.shape]), dtype: 'float32', ...(v.openBatch && { openBatch: true }) }));
  const nodes: Node[] = doc.nodes.map((n, i) => ({
    name: n.name,
    op: n.op,
    attrs: attrs[i],
    inputs: n.inputs,
    output: { name: n.name, shape: Object.freeze([...shapes.get(n.name)!]), dtype: 'float32' },
  }));
  const outputs = Object.fromEntries(Object.keys(doc.outputs).map((k) => [k, doc.outputs[k]]));
  try {
    return new Graph({ name: doc.name, inputs, constants, nodes, outputs });
  } catch (e) {
    if (e instanceof TesseraError) throw new FormatError('(graph)', e.message);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Structure

const name = z
  .string()
  .min(1)
  .max(GRAPH_FILE_LIMITS.maxNameLength)
  .refine((s) => !FORBIDDEN_NAMES.has(s), { message: `reserved name: ${NAME_RULE}` });
const shape = z.array(z.number().int().min(1).max(MAX_ELEMENTS)).max(GRAPH_FILE_LIMITS.maxRank);
/** An input's shape may leave its first dimension (the batch) open: null. */
const inputShape = z
  .array(z.number().int().min(1).max(MAX_ELEMENTS).nullable())
  .max(GRAPH_FILE_LIMITS.maxRank)
  .refine((s) => s.every((d, i) => d !== null || i === 0), { message: 'only the first dimension (the batch) may be null' });
const weightData = z.strictObject({
  base64: z.string().optional(),
  offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
  length: z.number().int().min(0).max(MAX_ELEMENTS).optional(),
});

const documentSchema = z.strictObject({
  format: z.literal(GRAPH_FORMAT),
  version: z.literal(GRAPH_FORMAT_VERSION),
  name,
  inputs: z.array(z.strictObject({ name, shape: inputShape }).transform((v) => ({ name: v.name, shape: v.shape.map((d) => d ?? STORED_BATCH), openBatch: v.shape[0] === null }))),
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
