import type { z } from 'zod';
import { preview } from './format/format-error.js';

/*
 * zod issues in words, for every place that validates with zod: the builder and the Graph
 * constructor (a node's attributes) and the graph file loader (the whole document).
 */

export interface IssueContext {
  /** Set when the input is an op's attributes: names the attributes the op takes. */
  readonly op?: string;
  readonly schema?: z.ZodType;
  /** What a record's key must be, said when a key is too short or too long. */
  readonly keyRule?: string;
}

export interface DescribedIssue {
  /** Where in the input (an unknown key's path ends with the key). */
  readonly path: PropertyKey[];
  readonly message: string;
}

/** One issue: where it is and what is wrong, quoting the value found in `input` there. */
export function describeIssue(issue: z.core.$ZodIssue, input: unknown, ctx: IssueContext = {}): DescribedIssue {
  const path = [...issue.path];
  switch (issue.code) {
    case 'unrecognized_keys':
      return unknownKey(issue.keys[0], path, ctx);
    case 'invalid_union':
      return unionIssue(issue.errors, path, input, ctx);
    case 'invalid_key': {
      const inner = issue.issues[0];
      const sized = inner?.code === 'too_small' || inner?.code === 'too_big';
      const why = inner?.code === 'custom' ? inner.message : sized && ctx.keyRule ? ctx.keyRule : (inner?.message ?? issue.message);
      return { path, message: `invalid key ${preview(path[path.length - 1])}: ${why}` };
    }
    case 'invalid_value':
      return { path, message: `expected ${issue.values.map((x) => JSON.stringify(x)).join(' or ')}, got ${preview(valueAt(input, path))}` };
    case 'invalid_type':
      return { path, message: typeMismatch(issue.expected, path, input) };
    case 'too_big':
    case 'too_small':
      return { path, message: outOfRange(issue, valueAt(input, path)) };
    default:
      return { path, message: issue.message };
  }
}

/** Every issue as `<path>: <problem>`, joined by '; ' (the path dotted, `(attrs)` for the whole). */
export function listIssues(issues: readonly z.core.$ZodIssue[], input: unknown, ctx: IssueContext = {}): string {
  return issues
    .map((issue) => {
      const { path, message } = describeIssue(issue, input, ctx);
      return `${path.map(String).join('.') || '(attrs)'}: ${message}`;
    })
    .join('; ');
}

function unknownKey(key: string, path: PropertyKey[], ctx: IssueContext): DescribedIssue {
  const known = ctx.schema && 'shape' in ctx.schema ? Object.keys((ctx.schema as unknown as { shape: object }).shape) : undefined;
  const what = ctx.schema && path.length === 0 ? 'attribute' : 'key';
  const list = known ? ` (${ctx.op} takes ${known.join(', ') || 'no attributes'})` : '';
  return { path: [...path, key], message: `unknown ${what} '${key}'${list}` };
}

/** Reports the alternative that got furthest; if none got anywhere, lists what was expected. */
function unionIssue(errors: readonly (readonly z.core.$ZodIssue[])[], path: PropertyKey[], input: unknown, ctx: IssueContext): DescribedIssue {
  const branches = errors.filter((b) => b.length > 0);
  const deepest = branches.reduce<readonly z.core.$ZodIssue[] | undefined>(
    (best, b) => (best === undefined || b[0].path.length > best[0].path.length ? b : best),
    undefined,
  );
  if (deepest && deepest[0].path.length > 0) {
    const inner = describeIssue(deepest[0], valueAt(input, path), ctx);
    return { path: [...path, ...inner.path], message: inner.message };
  }
  const expected = branches.map((b) => {
    const i = b[0];
    if (i.code === 'invalid_value') return i.values.map((x) => JSON.stringify(x)).join(' or ');
    if (i.code === 'invalid_type') return typeName(i.expected);
    return i.message;
  });
  return { path, message: `expected ${expected.join(' or ')}, got ${preview(valueAt(input, path))}` };
}

function typeMismatch(expectedType: string, path: PropertyKey[], input: unknown): string {
  const got = valueAt(input, path);
  const expected = typeName(expectedType);
  if (got === undefined && path.length > 0 && !hasKey(valueAt(input, path.slice(0, -1)), path[path.length - 1])) {
    return `missing (expected ${expected})`;
  }
  return `expected ${expected}, got ${preview(got)}`;
}

function outOfRange(issue: z.core.$ZodIssueTooBig | z.core.$ZodIssueTooSmall, got: unknown): string {
  const limit = issue.code === 'too_big' ? `at most ${issue.maximum}` : `at least ${issue.minimum}`;
  const what = issue.origin === 'array' ? `entries` : issue.origin === 'string' ? 'characters' : undefined;
  const size = Array.isArray(got) ? got.length : typeof got === 'string' ? got.length : undefined;
  return what ? `${size} ${what}, expected ${limit} ${what}` : `${preview(got)} is out of range: expected ${limit}`;
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  int: 'an integer',
  record: 'an object',
  object: 'an object',
  array: 'an array',
  tuple: 'an array',
};

function typeName(expected: string): string {
  return TYPE_NAMES[expected] ?? `a ${expected}`;
}

function hasKey(v: unknown, k: PropertyKey): boolean {
  return v !== null && typeof v === 'object' && Object.hasOwn(v, k);
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v = input;
  for (const k of path) {
    if (!hasKey(v, k)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}
