import { OpError, TesseraError, atNode } from './errors.js';
import { opSpec, isOpName } from './ops/index.js';
import { checkArity, parseAttrs } from './ops/spec.js';
import { checkShape, sameShape, shapeStr, type DType, type Shape } from './shape.js';
import type { Tensor } from './tensor.js';
import { STORED_BATCH, atBatch, valueShapeStr } from './batch.js';

export interface ValueInfo {
  readonly name: string;
  readonly shape: Shape;
  readonly dtype: DType;
  /** An input whose first dimension (the batch) is open: `shape` holds it at batch 1 (batch.ts). */
  readonly openBatch?: boolean;
}

export interface Node {
  /** Unique name; also the name of the value the node produces. */
  readonly name: string;
  readonly op: string;
  readonly attrs: Readonly<Record<string, unknown>>;
  /** Names of the values consumed, in the op's operand order. */
  readonly inputs: readonly string[];
  readonly output: ValueInfo;
}

export interface GraphParts {
  readonly name: string;
  readonly inputs: readonly ValueInfo[];
  readonly constants: ReadonlyMap<string, Tensor>;
  /** In any order: the graph sorts them. */
  readonly nodes: readonly Node[];
  /** Output name -> value name. */
  readonly outputs: Readonly<Record<string, string>>;
}

export type ValueKind = 'input' | 'constant' | 'node';

/**
 * An immutable dataflow graph. Constructing one verifies it: every value is defined once,
 * every operand exists, the graph is acyclic, attributes are valid, and every recorded shape
 * is the one its op infers. Nodes are kept in topological order. Passes build new graphs.
 */
export class Graph implements GraphParts {
  readonly name: string;
  readonly inputs: readonly ValueInfo[];
  readonly constants: ReadonlyMap<string, Tensor>;
  readonly nodes: readonly Node[];
  readonly outputs: Readonly<Record<string, string>>;
  private readonly values = new Map<string, { info: ValueInfo; kind: ValueKind; producer?: Node }>();
  private readonly consumerMap = new Map<string, Node[]>();

  constructor(parts: GraphParts) {
    this.name = parts.name;
    this.inputs = Object.freeze([...parts.inputs]);
    this.constants = parts.constants;
    this.outputs = Object.freeze({ ...parts.outputs });
    for (const v of parts.inputs) this.define(v, 'input');
    for (const [name, t] of parts.constants) this.define({ name, shape: t.shape, dtype: 'float32' }, 'constant');
    const nodes = parts.nodes.map((n) => normalizeNode(n));
    for (const n of nodes) this.define(n.output, 'node', n);
    this.nodes = Object.freeze(this.sortAndVerify(nodes));
    for (const [out, value] of Object.entries(this.outputs)) {
      if (!this.values.has(value)) throw new TesseraError(`output '${out}' refers to undefined value '${value}'`);
    }
    if (Object.keys(this.outputs).length === 0) throw new TesseraError(`graph '${this.name}' has no outputs`);
    // An open batch must infer at another batch too: a node that fixes it is named here.
    if (this.openBatch) atBatch(this, 2);
  }

  /** True if some input leaves its batch open (see batch.ts). */
  get openBatch(): boolean {
    return this.inputs.some((v) => v.openBatch);
  }

  private define(info: ValueInfo, kind: ValueKind, producer?: Node): void {
    if (this.values.has(info.name)) {
      throw new TesseraError(`value '${info.name}' is defined more than once`);
    }
    if (info.dtype !== 'float32') throw new TesseraError(`value '${info.name}' has dtype '${info.dtype}'; only float32 is supported`);
    if (info.openBatch && (kind !== 'input' || info.shape.length === 0 || info.shape[0] !== STORED_BATCH)) {
      throw new TesseraError(`value '${info.name}': only an input of rank >= 1 may leave its batch open, stored at batch ${STORED_BATCH}`);
    }
    this.values.set(info.name, { info, kind, producer });
  }

  /** Kahn's algorithm, keeping the given order among ready nodes; checks each node as it is placed. */
  private sortAndVerify(nodes: readonly Node[]): Node[] {
    const pending = new Map<Node, number>();
    const waiting = new Map<string, Node[]>();
    const ready: Node[] = [];
    for (const n of nodes) {
      let missing = 0;
      for (const input of n.inputs) {
        const v = this.values.get(input);
        if (!v) throw new TesseraError(`operand '${input}' is not defined`, { node: n.name, op: n.op });
        pushTo(this.consumerMap, input, n);
        if (v.kind === 'node') {
          missing++;
          pushTo(waiting, input, n);
        }
      }
      pending.set(n, missing);
      if (missing === 0) ready.push(n);
    }
    const order: Node[] = [];
    for (let i = 0; i < ready.length; i++) {
      const n = ready[i];
      this.verifyNode(n);
      order.push(n);
      for (const c of waiting.get(n.name) ?? []) {
        const left = pending.get(c)! - 1;
        pending.set(c, left);
        if (left === 0) ready.push(c);
      }
    }
    if (order.length !== nodes.length) {
      const stuck = nodes.filter((n) => !order.includes(n)).map((n) => n.name);
      throw new TesseraError(`graph '${this.name}' has a cycle through nodes ${stuck.slice(0, 8).join(', ')}`);
    }
    return order;
  }

  private verifyNode(n: Node): void {
    const spec = opSpec(n.op);
    atNode(n.name, n.op, () => {
      checkArity(spec, n.inputs.length);
      checkShape(n.output.shape, 'output');
      const inferred = spec.inferShape(n.inputs.map((i) => this.value(i).shape), n.attrs);
      if (!sameShape(inferred, n.output.shape)) {
        throw new OpError(`recorded output shape ${shapeStr(n.output.shape)} differs from the inferred ${shapeStr(inferred)}`);
      }
    });
  }

  value(name: string): ValueInfo {
    const v = this.values.get(name);
    if (!v) throw new TesseraError(`graph '${this.name}' has no value '${name}'`);
    return v.info;
  }

  kind(name: string): ValueKind {
    return this.values.get(name)?.kind ?? (this.value(name), 'node');
  }

  producer(name: string): Node | undefined {
    return this.values.get(name)?.producer;
  }

  consumers(name: string): readonly Node[] {
    return this.consumerMap.get(name) ?? [];
  }

  /** True if the value is one of the graph's outputs. */
  isOutput(name: string): boolean {
    return Object.values(this.outputs).includes(name);
  }

  /** A new graph with some parts replaced (passes use this). */
  with(parts: Partial<GraphParts>): Graph {
    return new Graph({ ...this.parts(), ...parts });
  }

  parts(): GraphParts {
    return { name: this.name, inputs: this.inputs, constants: this.constants, nodes: this.nodes, outputs: this.outputs };
  }

  toString(): string {
    const lines = [`graph ${this.name}(${this.inputs.map((v) => `%${v.name}: ${valueShapeStr(v)}`).join(', ')}) {`];
    for (const [name, t] of this.constants) lines.push(`  const %${name}: ${shapeStr(t.shape)}`);
    for (const n of this.nodes) {
      const attrs = Object.entries(n.attrs).map(([k, v]) => `${k}=${attrText(v)}`).join(', ');
      lines.push(`  %${n.name}: ${shapeStr(n.output.shape)} = ${n.op}(${n.inputs.map((i) => `%${i}`).join(', ')})${attrs ? ` {${attrs}}` : ''}`);
    }
    lines.push(`  return ${Object.entries(this.outputs).map(([k, v]) => `${k}=%${v}`).join(', ')}`, '}');
    return lines.join('\n');
  }
}

/** An attribute as JSON text, but -0 as `-0` (JSON.stringify writes 0), so a failure shows the sign it is about. */
function attrText(v: unknown): string {
  if (Object.is(v, -0)) return '-0';
  if (Array.isArray(v)) return `[${v.map(attrText).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${attrText(x)}`).join(',')}}`;
  }
  return String(JSON.stringify(v));
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Checks the op and its attributes, filling defaults, so every node in a graph holds parsed attributes. */
function normalizeNode(n: Node): Node {
  if (!isOpName(n.op)) throw new TesseraError(`unknown op '${n.op}'`, { node: n.name, op: n.op });
  const attrs = atNode(n.name, n.op, () => parseAttrs(opSpec(n.op), n.attrs));
  return Object.freeze({ ...n, attrs: Object.freeze(attrs as Record<string, unknown>), inputs: Object.freeze([...n.inputs]) });
}
