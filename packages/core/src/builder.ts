import { z } from 'zod';
import { TesseraError, atNode } from './errors.js';
import { Graph, type Node, type ValueInfo } from './graph.js';
import { OPS, type OpName } from './ops/index.js';
import { checkArity, parseAttrs } from './ops/spec.js';
import { checkShape, type Shape } from './shape.js';
import { Tensor } from './tensor.js';
import { STORED_BATCH } from './batch.js';

/** A value under construction: its name in the graph and its (already inferred) shape. */
export interface SymbolicValue {
  readonly name: string;
  readonly shape: Shape;
}

type AttrsIn<K extends OpName> = z.input<(typeof OPS)[K]['attrs']>;
interface Named {
  /** Node name; defaults to `<op>_<n>`. */
  name?: string;
}

/**
 * Builds a graph in code. Every call infers its output shape at once, so a mistake throws at
 * the call that makes it, naming the node, the op and what was expected.
 */
export class GraphBuilder {
  private readonly inputs: ValueInfo[] = [];
  private readonly constants = new Map<string, Tensor>();
  private readonly nodes: Node[] = [];
  private readonly names = new Set<string>();
  private readonly counters = new Map<string, number>();

  constructor(readonly name: string) {}

  /**
   * A graph input. A first dimension of `null` leaves the batch open: the graph then runs at any
   * batch its feeds give (shapes here, costs and the summary are per item, at batch 1).
   */
  input(name: string, shape: readonly (number | null)[]): SymbolicValue {
    this.claim(name);
    const openBatch = shape.length > 0 && shape[0] === null;
    const fixed = openBatch ? [STORED_BATCH, ...shape.slice(1)] : shape;
    atNode(name, 'input', () => checkShape(fixed as Shape, 'input shape'));
    const v = { name, shape: Object.freeze([...fixed]) as Shape, dtype: 'float32' as const, ...(openBatch && { openBatch }) };
    this.inputs.push(v);
    return v;
  }

  constant(name: string, tensor: Tensor): SymbolicValue {
    this.claim(name);
    this.constants.set(name, tensor);
    return { name, shape: tensor.shape };
  }

  /** Adds a node of any op in the table. The typed helpers below call this. */
  op<K extends OpName>(op: K, inputs: readonly SymbolicValue[], attrs: AttrsIn<K> & Named): SymbolicValue {
    const { name: given, ...rest } = attrs as Named & Record<string, unknown>;
    const name = given ?? this.freshName(op);
    const spec = OPS[op];
    const shape = atNode(name, op, () => {
      const attrs = parseAttrs<z.ZodType>(spec, rest);
      checkArity(spec, inputs.length);
      // The attribute type of `spec` is a union over all ops here; the parse above made it the right one.
      return (spec.inferShape as (s: readonly Shape[], a: unknown) => Shape)(inputs.map((i) => i.shape), attrs);
    });
    this.claim(name);
    this.nodes.push({ name, op, attrs: rest, inputs: inputs.map((i) => i.name), output: { name, shape, dtype: 'float32' } });
    return { name, shape };
  }

  conv2d(x: SymbolicValue, filter: SymbolicValue, attrs: AttrsIn<'conv2d'> & Named): SymbolicValue {
    return this.op('conv2d', [x, filter], attrs);
  }
  biasAdd(x: SymbolicValue, bias: SymbolicValue, attrs: Named = {}): SymbolicValue {
    return this.op('bias_add', [x, bias], attrs as AttrsIn<'bias_add'>);
  }
  relu(x: SymbolicValue, attrs: Named = {}): SymbolicValue {
    return this.op('relu', [x], attrs as AttrsIn<'relu'>);
  }
  maxpool(x: SymbolicValue, attrs: AttrsIn<'maxpool'> & Named): SymbolicValue {
    return this.op('maxpool', [x], attrs);
  }
  reshape(x: SymbolicValue, shape: readonly number[], attrs: Named = {}): SymbolicValue {
    return this.op('reshape', [x], { ...attrs, shape: [...shape] });
  }
  matmul(a: SymbolicValue, b: SymbolicValue, attrs: AttrsIn<'matmul'> & Named = {}): SymbolicValue {
    return this.op('matmul', [a, b], attrs);
  }
  /** `residual` (optional, the output's shape) is added before the activation: a ResNet shortcut. */
  fusedConv2d(x: SymbolicValue, filter: SymbolicValue, bias: SymbolicValue, attrs: AttrsIn<'fused_conv2d'> & Named, residual?: SymbolicValue): SymbolicValue {
    return this.op('fused_conv2d', residual ? [x, filter, bias, residual] : [x, filter, bias], attrs);
  }
  fusedMatmul(a: SymbolicValue, b: SymbolicValue, bias: SymbolicValue, attrs: AttrsIn<'fused_matmul'> & Named = {}): SymbolicValue {
    return this.op('fused_matmul', [a, b, bias], attrs);
  }
  slice(x: SymbolicValue, attrs: AttrsIn<'slice'> & Named): SymbolicValue {
    return this.op('slice', [x], attrs);
  }
  batchNorm(
    x: SymbolicValue,
    mean: SymbolicValue,
    variance: SymbolicValue,
    offset: SymbolicValue,
    scale: SymbolicValue,
    attrs: AttrsIn<'batch_norm'> & Named = {},
  ): SymbolicValue {
    return this.op('batch_norm', [x, mean, variance, offset, scale], attrs);
  }
  depthwiseConv2d(x: SymbolicValue, filter: SymbolicValue, attrs: AttrsIn<'depthwise_conv2d'> & Named): SymbolicValue {
    return this.op('depthwise_conv2d', [x, filter], attrs);
  }
  avgPool(x: SymbolicValue, attrs: AttrsIn<'avg_pool'> & Named): SymbolicValue {
    return this.op('avg_pool', [x], attrs);
  }
  mean(x: SymbolicValue, attrs: AttrsIn<'mean'> & Named): SymbolicValue {
    return this.op('mean', [x], attrs);
  }
  softmax(x: SymbolicValue, attrs: Named = {}): SymbolicValue {
    return this.op('softmax', [x], attrs as AttrsIn<'softmax'>);
  }
  /** a + b with NumPy broadcasting (tf.add). */
  add(a: SymbolicValue, b: SymbolicValue, attrs: Named = {}): SymbolicValue {
    return this.op('add', [a, b], attrs as AttrsIn<'add'>);
  }
  /** a * b with NumPy broadcasting (tf.multiply). */
  mul(a: SymbolicValue, b: SymbolicValue, attrs: Named = {}): SymbolicValue {
    return this.op('mul', [a, b], attrs as AttrsIn<'mul'>);
  }
  relu6(x: SymbolicValue, attrs: Named = {}): SymbolicValue {
    return this.op('relu6', [x], attrs as AttrsIn<'relu6'>);
  }
  /** tf.pad, constant mode: `paddings` one [before, after] pair per dimension, `value` default 0. */
  pad(x: SymbolicValue, attrs: AttrsIn<'pad'> & Named): SymbolicValue {
    return this.op('pad', [x], attrs);
  }
  /** tf.concat of one or more values along `axis` (negative counts from the end). */
  concat(values: readonly SymbolicValue[], attrs: AttrsIn<'concat'> & Named): SymbolicValue {
    return this.op('concat', values, attrs);
  }

  build(outputs: Record<string, SymbolicValue>): Graph {
    const out = Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.name]));
    return new Graph({ name: this.name, inputs: this.inputs, constants: this.constants, nodes: this.nodes, outputs: out });
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new TesseraError(`the name '${name}' is already used in graph '${this.name}'`);
    this.names.add(name);
  }

  private freshName(op: string): string {
    let n = this.counters.get(op) ?? 0;
    let name: string;
    do name = `${op}_${++n}`;
    while (this.names.has(name));
    this.counters.set(op, n);
    return name;
  }
}
