import { Graph, TesseraError, opSpec, sameShape, shapeStr, type Node, type Shape, type Tensor, type ValueKind } from '@tessera/core';

/*
 * Pattern-matching rewrites. A rule is data: a pattern (a tree of ops rooted at the node being
 * replaced, with captured operands at its leaves), an optional condition, and a replacement
 * that emits new nodes. `applyRules` sweeps the graph once from the outputs up (so the largest
 * pattern wins: conv -> bias_add -> relu before conv -> bias_add), claims the nodes each match
 * removes, and builds the new graph once per sweep: linear in the size of the graph.
 */

/** Matches any value (input, constant or node output), capturing its name. */
export interface ValuePattern {
  readonly kind: 'value';
  readonly capture?: string;
  /** Only values of this kind match. */
  readonly valueKind?: ValueKind;
}

/** Matches a node whose op is one of `ops` and whose operands match `inputs`, in order. */
export interface OpPattern {
  readonly kind: 'op';
  readonly ops: readonly string[];
  readonly inputs: readonly Pattern[];
  /** The key of the matched node in `Match.nodes` (default: the op name). */
  readonly label: string;
}

export type Pattern = ValuePattern | OpPattern;

/** A node of one of `ops` (a name or a list) with the given operand patterns. */
export function op(ops: string | readonly string[], ...inputs: Pattern[]): OpPattern {
  const list = typeof ops === 'string' ? [ops] : [...ops];
  return { kind: 'op', ops: list, inputs, label: list.join('|') };
}

/** The same op pattern, with its matched node found under `label` in `Match.nodes`. */
export function named(label: string, pattern: OpPattern): OpPattern {
  return { ...pattern, label };
}

/** Any value, captured under `capture`. A capture name used twice must match the same value. */
export function any(capture?: string): ValuePattern {
  return { kind: 'value', capture };
}

/** A constant of the graph (weights, biases), captured under `capture`. */
export function constant(capture?: string): ValuePattern {
  return { kind: 'value', capture, valueKind: 'constant' };
}

/** One place where a rule's pattern matched. */
export interface Match {
  readonly rule: string;
  /** The node the pattern is rooted at: the node whose value the replacement takes over. */
  readonly root: Node;
  /** Matched nodes by label (op name unless `named`). */
  readonly nodes: Readonly<Record<string, Node>>;
  /** Captured value names. */
  readonly values: Readonly<Record<string, string>>;
  /** Every matched node, root first. */
  readonly matched: readonly Node[];
}

/** What a replacement uses to emit new nodes and constants. */
export interface Emitter {
  readonly graph: Graph;
  /** Adds a node; returns its name (= its value's name). `name` is kept if free, else made unique. */
  node(op: string, inputs: readonly string[], attrs: Record<string, unknown>, name?: string): string;
  /** Adds a constant; returns its (unique) name. */
  constant(name: string, tensor: Tensor): string;
  /** The shape of an existing or newly emitted value. */
  shape(value: string): Shape;
  /** The tensor of a constant of the graph (or one emitted here). */
  tensor(value: string): Tensor;
}

export interface RewriteRule {
  readonly name: string;
  readonly pattern: OpPattern;
  /**
   * Checked after the structural match: true to rewrite, or false / a reason to leave it
   * (a reason is listed in the report's `skipped`).
   */
  readonly condition?: (m: Match, graph: Graph) => boolean | string;
  /** Allow matched intermediates that have consumers outside the match (they are then kept). Default false. */
  readonly sharedIntermediates?: boolean;
  /** Allow matched intermediates that are graph outputs (they are then kept). Default false. */
  readonly outputIntermediates?: boolean;
  /**
   * Emits the replacement and returns the name of the value that takes the root's place
   * (a new node, or an existing value such as a captured operand).
   */
  readonly replace: (m: Match, emit: Emitter) => string;
  /** A line for the report; default: "<rule>: a + b + c -> op 'name'". */
  readonly describe?: (m: Match, result: string, graph: Graph) => string;
}

export interface RewriteResult {
  readonly graph: Graph;
  /** Structural matches, counted once per root and rule (including the declined ones). */
  readonly matched: number;
  readonly rewritten: number;
  readonly changes: readonly string[];
  readonly skipped: readonly string[];
  readonly sweeps: number;
}

export interface RewriteOptions {
  /** Sweeps repeat while the previous one rewrote something, at most this many times (default 16). */
  readonly maxSweeps?: number;
}

/**
 * Applies the rules until none fires (or `maxSweeps`). In one sweep, nodes are visited from the
 * outputs up; at each node the rules rooted at its op are tried in table order and the first that
 * matches, passes its condition and has exclusive intermediates rewrites. Each node is removed by
 * at most one match per sweep.
 */
export function applyRules(graph: Graph, rules: readonly RewriteRule[], options: RewriteOptions = {}): RewriteResult {
  const maxSweeps = options.maxSweeps ?? 16;
  const changes: string[] = [];
  const skipped = new Map<string, string>();
  let rewritten = 0;
  let sweeps = 0;
  let g = graph;
  while (sweeps < maxSweeps) {
    sweeps++;
    const r = sweep(g, rules, skipped);
    rewritten += r.rewritten;
    changes.push(...r.changes);
    g = r.graph;
    if (r.rewritten === 0) break;
  }
  // A match declined in one sweep and rewritten in a later one was deleted from `skipped` then.
  const skips = [...skipped.values()];
  return { graph: g, matched: rewritten + skips.length, rewritten, changes, skipped: skips, sweeps };
}

interface Replacement {
  readonly match: Match;
  readonly value: string;
  readonly nodes: Node[];
}

/** What one sweep has decided so far; the old graph is not touched until `rebuild`. */
interface SweepState {
  readonly graph: Graph;
  readonly outputs: ReadonlySet<string>;
  /** Nodes claimed by a match: the root and its exclusive intermediates. */
  readonly removed: Set<string>;
  /** Kept shared intermediates and constants of removed nodes: dropped if nothing uses them any more. */
  readonly maybeDead: Set<string>;
  /** Every value name, old and new. */
  readonly used: Set<string>;
  readonly newConstants: Map<string, Tensor>;
  /** Root -> the value that takes its place, when that is not a node of the root's name. */
  readonly rename: Map<string, string>;
  /** Value -> root of the match whose replacement uses it. */
  readonly pinned: Map<string, string>;
  readonly replacements: Replacement[];
  readonly changes: string[];
}

/** One sweep: from the outputs up, the first acceptable match at each node claims it; then one rebuild. */
function sweep(graph: Graph, rules: readonly RewriteRule[], skipped: Map<string, string>): { graph: Graph; rewritten: number; changes: string[] } {
  const byOp = new Map<string, RewriteRule[]>();
  for (const rule of rules) for (const o of rule.pattern.ops) (byOp.get(o) ?? byOp.set(o, []).get(o)!).push(rule);
  const state = startSweep(graph);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const root = graph.nodes[i];
    if (state.removed.has(root.name)) continue;
    for (const rule of byOp.get(root.op) ?? []) if (tryRule(state, rule, root, skipped)) break;
  }
  const rewritten = state.replacements.length;
  return { graph: rewritten === 0 ? graph : rebuild(state), rewritten, changes: state.changes };
}

function startSweep(graph: Graph): SweepState {
  const used = new Set<string>();
  for (const v of graph.inputs) used.add(v.name);
  for (const name of graph.constants.keys()) used.add(name);
  for (const n of graph.nodes) used.add(n.name);
  return {
    graph,
    outputs: new Set(Object.values(graph.outputs)),
    removed: new Set(),
    maybeDead: new Set(),
    used,
    newConstants: new Map(),
    rename: new Map(),
    pinned: new Map(),
    replacements: [],
    changes: [],
  };
}

/**
 * Matches one rule at `root`; if its intermediates may go and its condition holds, claims the
 * match (true). A declined match with a reason is recorded in `skipped` under rule and root.
 */
function tryRule(state: SweepState, rule: RewriteRule, root: Node, skipped: Map<string, string>): boolean {
  const m = matchAt(state.graph, rule, root, state.removed);
  if (!m) return false;
  const key = `${rule.name}@${root.name}`;
  const shared = sharedIntermediates(state, rule, m);
  const ok = typeof shared === 'string' ? shared : rule.condition ? rule.condition(m, state.graph) : true;
  if (ok === false) return false; // silently not applicable
  if (ok !== true || typeof shared === 'string') {
    skipped.set(key, `${rule.name} at '${root.name}': ${ok}`);
    return false;
  }
  claim(state, rule, m, shared);
  skipped.delete(key);
  return true;
}

/**
 * The match's intermediates that stay (allowed to be shared or outputs by the rule), or why the
 * match may not take them: an intermediate must be exclusive (every consumer inside the match, not
 * an output, not read by another replacement) unless the rule allows it.
 */
function sharedIntermediates(state: SweepState, rule: RewriteRule, m: Match): Node[] | string {
  const inMatch = new Set(m.matched.map((n) => n.name));
  const shared: Node[] = [];
  for (const n of m.matched.slice(1)) {
    const outside = state.graph.consumers(n.name).filter((c) => !inMatch.has(c.name));
    const isOut = state.outputs.has(n.name);
    const pinnedBy = state.pinned.get(n.name);
    if (outside.length === 0 && !isOut && pinnedBy === undefined) continue;
    if (isOut && !rule.outputIntermediates) return `'${n.name}' is a graph output`;
    if (outside.length > 0 && !rule.sharedIntermediates) return `'${n.name}' has another consumer ('${outside[0].name}')`;
    if (pinnedBy !== undefined && !rule.sharedIntermediates) return `'${n.name}' is used by the rewrite of '${pinnedBy}'`;
    shared.push(n);
  }
  return shared;
}

/** Emits the match's replacement and marks what it removes, keeps, renames and reads. */
function claim(state: SweepState, rule: RewriteRule, m: Match, shared: readonly Node[]): void {
  const { graph } = state;
  const { root } = m;
  const sharedNames = new Set(shared.map((n) => n.name));
  const rep = emitReplacement(graph, rule, m, sharedNames, state.used, state.newConstants);
  for (const n of m.matched) {
    if (sharedNames.has(n.name)) state.maybeDead.add(n.name);
    else state.removed.add(n.name);
    for (const input of n.inputs) if (graph.kind(input) === 'constant') state.maybeDead.add(input);
  }
  if (rep.value !== root.name) state.rename.set(root.name, rep.value);
  // Values the replacement reads (or that take the root's place) gained consumers the old graph does not show.
  for (const n of rep.nodes) for (const input of n.inputs) state.pinned.set(input, root.name);
  state.pinned.set(rep.value, root.name);
  state.replacements.push(rep);
  state.changes.push(rule.describe ? rule.describe(m, rep.value, graph) : describe(m, rep));
}

/** The new graph: kept nodes and the replacements' nodes, operands and outputs renamed, unused leftovers dropped. */
function rebuild(state: SweepState): Graph {
  const { graph, rename } = state;
  const resolve = (v: string): string => {
    let r = v;
    for (let hops = 0; rename.has(r); hops++) {
      if (hops > rename.size) throw new TesseraError(`rewrite produced a renaming cycle through '${v}'`);
      r = rename.get(r)!;
    }
    return r;
  };
  // A replacement may reuse the root's name for one of its new nodes (the matmul that replaces a conv)
  // while another value takes the root's place: inside the replacement that name means the new node.
  const relink = (n: Node, own?: ReadonlySet<string>): Node =>
    n.inputs.some((i) => rename.has(i) && !own?.has(i)) ? { ...n, inputs: n.inputs.map((i) => (own?.has(i) ? i : resolve(i))) } : n;
  const nodes: Node[] = [];
  for (const n of graph.nodes) if (!state.removed.has(n.name)) nodes.push(relink(n));
  for (const rep of state.replacements) {
    const own = new Set(rep.nodes.map((n) => n.name));
    for (const n of rep.nodes) nodes.push(relink(n, own));
  }
  const outputs = Object.fromEntries(Object.entries(graph.outputs).map(([k, v]) => [k, resolve(v)]));
  return graph.with({ ...dropUnused(state, nodes, outputs), outputs });
}

/** Drops shared intermediates and constants left without a use (walking back, so chains of them go too). */
function dropUnused(state: SweepState, nodes: Node[], outputs: Record<string, string>): { nodes: Node[]; constants: Map<string, Tensor> } {
  const { graph, removed, maybeDead } = state;
  const uses = new Map<string, number>();
  const count = (v: string, d: number) => uses.set(v, (uses.get(v) ?? 0) + d);
  for (const n of nodes) for (const i of n.inputs) count(i, 1);
  for (const v of Object.values(outputs)) count(v, 1);
  const dead = new Set<string>();
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i];
    if (!maybeDead.has(n.name) || removed.has(n.name) || (uses.get(n.name) ?? 0) > 0) continue;
    dead.add(n.name);
    for (const input of n.inputs) {
      count(input, -1);
      if (graph.kind(input) === 'constant') maybeDead.add(input);
    }
  }
  const constants = new Map<string, Tensor>();
  for (const [name, t] of graph.constants) if (!maybeDead.has(name) || (uses.get(name) ?? 0) > 0) constants.set(name, t);
  for (const [name, t] of state.newConstants) if ((uses.get(name) ?? 0) > 0) constants.set(name, t);
  return { nodes: dead.size > 0 ? nodes.filter((n) => !dead.has(n.name)) : nodes, constants };
}

function matchAt(graph: Graph, rule: RewriteRule, root: Node, removed: ReadonlySet<string>): Match | undefined {
  const nodes: Record<string, Node> = {};
  const values: Record<string, string> = {};
  const matched: Node[] = [];
  const go = (p: Pattern, value: string, isRoot: boolean): boolean => {
    if (p.kind === 'value') {
      if (p.valueKind && graph.kind(value) !== p.valueKind) return false;
      if (p.capture !== undefined) {
        const prev = values[p.capture];
        if (prev !== undefined && prev !== value) return false;
        values[p.capture] = value;
      }
      return true;
    }
    const n = isRoot ? root : graph.producer(value);
    if (!n || !p.ops.includes(n.op) || removed.has(n.name)) return false;
    if (n.inputs.length !== p.inputs.length) return false;
    if (matched.includes(n)) return false; // a diamond inside one pattern is not a tree
    matched.push(n);
    nodes[p.label] = n;
    for (let i = 0; i < p.inputs.length; i++) if (!go(p.inputs[i], n.inputs[i], false)) return false;
    return true;
  };
  return go(rule.pattern, root.name, true) ? { rule: rule.name, root, nodes, values, matched } : undefined;
}

function emitReplacement(
  graph: Graph,
  rule: RewriteRule,
  m: Match,
  kept: ReadonlySet<string>,
  used: Set<string>,
  newConstants: Map<string, Tensor>,
): Replacement {
  const nodes: Node[] = [];
  const newShapes = new Map<string, Shape>();
  // Names of nodes this match removes may be reused by its new nodes (fused nodes keep the conv's name).
  const reusable = new Set(m.matched.filter((n) => !kept.has(n.name)).map((n) => n.name));
  const claim = (name: string): string => {
    if (reusable.delete(name)) return name;
    let unique = name;
    for (let k = 2; used.has(unique); k++) unique = `${name}_${k}`;
    used.add(unique);
    return unique;
  };
  const shapeOf = (v: string): Shape => newShapes.get(v) ?? graph.value(v).shape;
  const emit: Emitter = {
    graph,
    node(opName, inputs, attrs, name) {
      const spec = opSpec(opName);
      const finalName = claim(name ?? `${m.root.name}/${opName}`);
      const parsed = spec.attrs.parse(attrs) as Record<string, unknown>;
      const shape = spec.inferShape(inputs.map(shapeOf), parsed);
      nodes.push({ name: finalName, op: opName, attrs: parsed, inputs: [...inputs], output: { name: finalName, shape, dtype: 'float32' } });
      newShapes.set(finalName, shape);
      return finalName;
    },
    constant(name, tensor) {
      const finalName = claim(name);
      newConstants.set(finalName, tensor);
      newShapes.set(finalName, tensor.shape);
      return finalName;
    },
    shape: shapeOf,
    tensor(v) {
      const t = newConstants.get(v) ?? graph.constants.get(v);
      if (!t) throw new TesseraError(`rule '${rule.name}': '${v}' is not a constant`);
      return t;
    },
  };
  const value = rule.replace(m, emit);
  const got = shapeOf(value);
  if (!sameShape(got, m.root.output.shape)) {
    throw new TesseraError(
      `rule '${rule.name}' replaced '${m.root.name}' ${shapeStr(m.root.output.shape)} by '${value}' of shape ${shapeStr(got)}`,
    );
  }
  return { match: m, value, nodes };
}

function describe(m: Match, rep: Replacement): string {
  const from = [...m.matched].reverse().map((n) => `${n.op} '${n.name}'`).join(' -> ');
  const to = rep.nodes.length === 0 ? `'${rep.value}'` : rep.nodes.map((n) => `${n.op} '${n.name}'`).join(' -> ');
  return `${m.rule}: ${from}  =>  ${to}`;
}
