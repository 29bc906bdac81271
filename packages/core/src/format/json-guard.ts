import { FormatError, jsonPath } from './format-error.js';

/*
 * The first line of a graph file's defence, before zod sees the document: only JSON values,
 * bounded sizes and depth, and no key that could reach a prototype.
 */

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
  /** Bytes of a graph file (a larger model keeps its weights in a sidecar). */
  maxFileBytes: 256 * 2 ** 20,
  /** Bytes of a sidecar file. */
  maxSidecarBytes: 2 ** 31,
});

/** Keys and names that could reach an object's prototype if a consumer used them as keys. */
export const FORBIDDEN_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export const NAME_RULE = `a name must not be ${[...FORBIDDEN_NAMES].map((n) => `'${n}'`).join(', ')}`;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
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
export function scanJson(root: unknown): void {
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
