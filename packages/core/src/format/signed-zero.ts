/**
 * Attributes in graph files: JSON has a -0 (`JSON.parse('-0')` is -0), but `JSON.stringify`
 * writes it as `0`, so every writer and transport (repro files, the browser page) would lose it.
 * A -0 attribute number is therefore stored as the string "-0", which survives any JSON
 * serializer; the loader reads that string, and a literal `-0`, as the number -0. No attribute
 * takes the string "-0" as a string.
 */
export const NEGATIVE_ZERO = '-0';

const encode = (_: string, v: unknown): unknown => (Object.is(v, -0) ? NEGATIVE_ZERO : v);
// The encoding replacer runs first, so a literal -0 of the input reaches the reviver as "-0" too.
const decode = (_: string, v: unknown): unknown => (v === NEGATIVE_ZERO ? -0 : v);

/** A JSON copy of node attributes with every -0 written as "-0". */
export function encodeAttrs(attrs: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(attrs, encode)) as Record<string, unknown>;
}

/** Attributes as a graph file holds them, with every "-0" (or -0) read as the number -0. */
export function decodeAttrs(attrs: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(attrs, encode), decode) as Record<string, unknown>;
}
