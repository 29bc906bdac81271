/**
 * Attributes in graph files: JSON has a -0 (`JSON.parse('-0')` is -0), but `JSON.stringify`
 * writes it as `0`, so every writer and transport (repro files, the browser page) would lose it.
 * A -0 attribute number is therefore stored as the string "-0", which survives any JSON
 * serializer; the loader reads that string, and a literal `-0`, as the number -0. No attribute
 * takes the string "-0" as a string.
 */
const NEGATIVE_ZERO = '-0';

const encode = (_: string, v: unknown): unknown => (Object.is(v, -0) ? NEGATIVE_ZERO : v);

/** A JSON copy of node attributes with every -0 written as "-0". */
export function encodeAttrs(attrs: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(attrs, encode)) as Record<string, unknown>;
}

/**
 * Attributes as a graph file holds them (already scanned: JSON types, bounded depth), with every
 * "-0" read as the number -0. A copy; an object met again (a cycle, only in a document built in
 * code) maps to the same copy, so the attribute schema reports it rather than this walk hanging.
 */
export function decodeAttrs(attrs: Record<string, unknown>): Record<string, unknown> {
  const copies = new Map<object, unknown>();
  const copy = (v: unknown): unknown => {
    if (v === NEGATIVE_ZERO) return -0;
    if (v === null || typeof v !== 'object') return v;
    const done = copies.get(v);
    if (done !== undefined) return done;
    const out: Record<string, unknown> | unknown[] = Array.isArray(v) ? [] : {};
    copies.set(v, out);
    for (const [k, x] of Object.entries(v)) (out as Record<string, unknown>)[k] = copy(x);
    return out;
  };
  return copy(attrs) as Record<string, unknown>;
}
