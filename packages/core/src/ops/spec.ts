import type { z } from 'zod';
import { OpError } from '../errors.js';
import type { Shape } from '../shape.js';
import { listIssues } from '../zod-issues.js';

/**
 * A value in the float64 reference: the exact result on the float32 inputs (`value`) and,
 * per element, how far a correct float32 backend may be from it (`bound`, absolute).
 * Bounds start at 0 for inputs and constants and grow op by op (docs/SEMANTICS.md, "Tolerances").
 */
export interface RefTensor {
  readonly shape: Shape;
  readonly value: Float64Array;
  readonly bound: Float64Array;
  /**
   * Per element, non-zero where the sign of a zero `value` is specified, so a backend's zero
   * there must have the same sign (docs/SEMANTICS.md, "The sign of zero"); absent: nowhere.
   * Says nothing about non-zero values.
   */
  readonly zeroSign?: Uint8Array;
  /**
   * Per element, a probabilistic error bound (docs/SEMANTICS.md, "The likely bound"): a figure
   * real float32 errors rarely exceed, growing with sqrt(K) where `bound` grows with K. Never
   * larger than `bound`. Absent: not stated (ops that do not propagate it).
   */
  readonly likely?: Float64Array;
}

export interface OpCost {
  /** Multiply-accumulates (a maxpool comparison or a bias add counts as 0). */
  readonly macs: number;
}

/**
 * Everything that defines an op. One file per op exports one of these; the op table
 * (ops/index.ts) lists them. The reference is the definition: backends are correct when they
 * agree with it within its bounds.
 */
export interface OpSpec<S extends z.ZodType = z.ZodType> {
  readonly name: string;
  /**
   * Operand names, in order (the arity is their count, unless `variadic`).
   */
  readonly inputs: readonly string[];
  /**
   * True when the last operand name stands for one or more operands (concat's `values`): a node
   * then has `inputs.length` operands or more. Absent: exactly `inputs.length`.
   */
  readonly variadic?: boolean;
  /**
   * How many of the last operand names may be left out (fused_conv2d's `residual`): a node then
   * has from `inputs.length - optional` to `inputs.length` operands. Absent: none.
   */
  readonly optional?: number;
  /**
   * True when output element i reads element i of operand 0 only (same shape; other operands are
   * read whole). The execution plan may then give the output operand 0's memory (in place), so
   * every backend's kernel for the op must be correct with output and operand 0 aliased.
   */
  readonly elementwise?: boolean;
  /**
   * True when the output is operand 0's memory read with another shape (reshape): no kernel runs,
   * the plan gives the output operand 0's buffer, and backends need no kernel for the op.
   */
  readonly view?: boolean;
  /** Attribute schema: validates, fills defaults; used by the builder and the JSON loader alike. */
  readonly attrs: S;
  /** Output shape from operand shapes; throws OpError naming what was expected. */
  inferShape(inputs: readonly Shape[], attrs: z.output<S>): Shape;
  cost(inputs: readonly Shape[], output: Shape, attrs: z.output<S>): OpCost;
  reference(inputs: readonly RefTensor[], attrs: z.output<S>, output: Shape): RefTensor;
}

export type Attrs<S extends OpSpec> = S extends OpSpec<infer Z> ? z.output<Z> : never;
export type AttrsInput<S extends OpSpec> = S extends OpSpec<infer Z> ? z.input<Z> : never;

/** The attributes of a node of op `spec`, typed (the graph validated them against the spec's schema). */
export function attrsOf<S extends z.ZodType>(node: { readonly op: string; readonly attrs: unknown }, spec: OpSpec<S>): z.output<S> {
  if (node.op !== spec.name) throw new Error(`attrsOf: node of op '${node.op}' read as '${spec.name}'`);
  return node.attrs as z.output<S>;
}

/**
 * Validates attributes against the spec's schema, filling defaults; throws an OpError
 * `invalid attributes: <path>: <problem>; ...` (the caller adds node and op, as with atNode).
 */
export function parseAttrs<S extends z.ZodType>(spec: OpSpec<S>, attrs: unknown): z.output<S> {
  const parsed = spec.attrs.safeParse(attrs);
  if (!parsed.success) throw new OpError(`invalid attributes: ${listIssues(parsed.error.issues, attrs, { op: spec.name, schema: spec.attrs })}`);
  return parsed.data;
}

/** What the arity functions read of a spec. */
type AritySpec = Pick<OpSpec, 'inputs' | 'variadic' | 'optional'>;

/** True if a node of `spec` may have `count` operands. */
export function acceptsArity(spec: AritySpec, count: number): boolean {
  const n = spec.inputs.length;
  if (spec.variadic) return count >= n;
  return count <= n && count >= n - (spec.optional ?? 0);
}

/**
 * What a node of `spec` takes, in words: `2 operands (a, b)`, for a variadic op
 * `1 or more operands (values...)`, with optional operands `3 or 4 operands (input, filter, bias, residual?)`.
 */
export function arityText(spec: AritySpec): string {
  const n = spec.inputs.length;
  const optional = spec.optional ?? 0;
  const names = spec.inputs
    .map((name, i) => (spec.variadic && i === n - 1 ? `${name}...` : i >= n - optional ? `${name}?` : name))
    .join(', ');
  const count = optional === 0 ? `${n}` : optional === 1 ? `${n - 1} or ${n}` : `${n - optional} to ${n}`;
  return `${count}${spec.variadic ? ' or more' : ''} operand${n === 1 && !spec.variadic ? '' : 's'} (${names})`;
}

/** The name of operand `k` of a node of `spec` (a variadic op's last name indexed: `values[2]`). */
export function operandName(spec: AritySpec, k: number): string {
  const last = spec.inputs.length - 1;
  if (!spec.variadic || k < last) return spec.inputs[k] ?? `operand ${k}`;
  return `${spec.inputs[last]}[${k - last}]`;
}

/** Throws an OpError unless a node of `spec` may have `count` operands (the caller adds node and op). */
export function checkArity(spec: AritySpec, count: number): void {
  if (!acceptsArity(spec, count)) throw new OpError(`expects ${arityText(spec)}, got ${count}`);
}

/** Declares an op spec with its attribute types inferred from the schema. */
export function defineOp<S extends z.ZodType>(spec: OpSpec<S>): OpSpec<S> {
  return Object.freeze(spec);
}
