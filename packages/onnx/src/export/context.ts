import type { Graph, Node } from '@tessera/core';
import { TO_NCHW, TO_NHWC, invert, permute, transposeData } from '../layout.js';
import { AttributeType, type AttributeProto, type NodeProto, type TensorProto } from '../proto/proto.js';
import { floatTensorProto, int64TensorProto } from '../tensors.js';

/** An attribute value as exportOnnx writes it: a number (int or float by `floats`), a list, a string. */
export type AttrValue = number | readonly number[] | string;

/** How `exportOnnx` writes a graph. */
export interface ExportOptions {
  /**
   * Export so that ONNX Runtime gives TensorFlow's values (those of Tessera's reference) where its
   * kernels differ from TensorFlow's at the edges, at some cost in speed. Off by default.
   * - Relu / relu6 of -0 give +0 (an Abs after ONNX Runtime's Relu / Clip, which keep -0).
   * - A conv over padding multiplies the padding's zeros by every weight (a NaN or Inf weight
   *   there gives NaN): a padded conv whose filter is not a finite constant exports as an explicit
   *   Pad, then an unpadded Conv (ONNX Runtime's depthwise kernel skips padded taps; its rewrite
   *   rule 'Pad_Fusion' folds such a Pad back unless disabled).
   * - A max pool window holding a NaN gives NaN (ONNX Runtime's MaxPool skips NaN): a Where on a
   *   max pool of IsNaN.
   * - fused_matmul adds its bias to the finished product (MatMul, then Add), not as Gemm's C,
   *   which ONNX Runtime adds before the products (its MatMulAddFusion, off, would make it one).
   * - batch_norm is (x - mean) * a + offset as Tessera defines it, not BatchNormalization's
   *   x * a + (offset - mean * a) (which is NaN where a is infinite and x is 0).
   */
  readonly exactEdgeCases?: boolean;
}

/**
 * Export state. Every Tessera value keeps its name in the ONNX model; a rank-4 value (NHWC) is
 * held there in NCHW, so Conv, pools and BatchNormalization read it directly and the model's
 * interface is ONNX's usual one. Ops that need Tessera's order get it through `tessera()`.
 */

export class ExportContext {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();
  private readonly emitted = new Set<string>();
  private readonly inTesseraOrder = new Map<string, string>();
  /** Values renamed in the model so that every graph output can carry its Tessera output name. */
  private readonly renamed = new Map<string, string>();

  constructor(
    readonly graph: Graph,
    readonly options: ExportOptions = {},
  ) {
    for (const v of graph.inputs) this.used.add(v.name);
    for (const name of graph.constants.keys()) this.used.add(name);
    for (const n of graph.nodes) this.used.add(n.name);
    for (const key of Object.keys(graph.outputs)) this.used.add(key);
    // A node's value output under another name takes that name in the model (an Identity would do,
    // but ONNX Runtime 1.30's optimizer loses a value read both by a node and by such an Identity).
    for (const [key, value] of Object.entries(graph.outputs)) {
      if (key !== value && graph.kind(value) === 'node' && !this.renamed.has(value) && !Object.hasOwn(graph.outputs, value)) this.renamed.set(value, key);
    }
    // Another value named like an output key (not an input: their names are the interface) moves aside.
    const taken = new Set(this.renamed.values());
    for (const key of Object.keys(graph.outputs)) {
      if (hasValue(graph, key) && graph.kind(key) !== 'input' && !this.renamed.has(key) && taken.has(key)) this.renamed.set(key, this.fresh(`${key}/value`));
    }
  }

  /** The model's name of a Tessera value. */
  name(value: string): string {
    return this.renamed.get(value) ?? value;
  }

  fresh(base: string): string {
    let name = base;
    for (let k = 1; this.used.has(name); k++) name = `${base}_${k}`;
    this.used.add(name);
    return name;
  }

  rank(value: string): number {
    return this.graph.value(value).shape.length;
  }
  shape(value: string): readonly number[] {
    return this.graph.value(value).shape;
  }
  constantData(value: string): Float32Array | undefined {
    return this.graph.constants.get(value)?.data;
  }

  /** A new float initializer. */
  floats(base: string, shape: readonly number[], data: ArrayLike<number>): string {
    const name = this.fresh(base);
    this.initializers.push(floatTensorProto(name, shape, data));
    return name;
  }
  /** A new int64 initializer (shapes, axes, pads). */
  int64s(base: string, data: readonly number[], shape: readonly number[] = [data.length]): string {
    const name = this.fresh(base);
    this.initializers.push(int64TensorProto(name, shape, data));
    return name;
  }

  /** The ONNX name of a Tessera value (a constant becomes an initializer on first use; rank 4 in NCHW). */
  value(name: string): string {
    const data = this.constantData(name);
    if (data && !this.emitted.has(name)) {
      this.emitted.add(name);
      const shape = this.shape(name);
      const onnx = this.name(name);
      this.initializers.push(shape.length === 4 ? floatTensorProto(onnx, permute(shape, TO_NCHW), transposeData(data, shape, TO_NCHW)) : floatTensorProto(onnx, shape, data));
    }
    return this.name(name);
  }

  /** A Tessera value in Tessera's order (a rank-4 one transposed back from NCHW, once). */
  tessera(name: string): string {
    if (this.rank(name) !== 4) return this.value(name);
    const known = this.inTesseraOrder.get(name);
    if (known) return known;
    const out = this.node('Transpose', [this.value(name)], `${name}/nhwc`, { perm: TO_NHWC });
    this.inTesseraOrder.set(name, out);
    return out;
  }

  /**
   * Writes a result computed in Tessera's order as value `name`: transposed to NCHW when rank 4.
   * `compute` gets the ONNX name to write.
   */
  fromTessera(name: string, compute: (out: string) => void): void {
    if (this.rank(name) !== 4) return compute(name);
    const raw = this.fresh(`${name}/nhwc`);
    compute(raw);
    this.inTesseraOrder.set(name, raw);
    this.nodes.push(makeNode('Transpose', [raw], [this.name(name)], `${name}/to_nchw`, { perm: TO_NCHW }));
  }

  /** Adds a node with a fresh output name from `base`; returns that name. */
  node(op: string, inputs: readonly string[], base: string, attrs: Record<string, AttrValue> = {}, floatAttrs: readonly string[] = []): string {
    const out = this.fresh(base);
    this.nodes.push(makeNode(op, inputs, [out], out, attrs, floatAttrs));
    return out;
  }
  /** Adds a node writing `output` (a Tessera value's name). */
  write(op: string, inputs: readonly string[], output: string, attrs: Record<string, AttrValue> = {}, floatAttrs: readonly string[] = []): void {
    // The node keeps the Tessera name (importOnnx names nodes after it) where its value is renamed.
    this.nodes.push(makeNode(op, inputs, [this.name(output)], output, attrs, floatAttrs));
  }

  /** Per-axis items in Tessera's order, in the order ONNX holds a value of that rank. */
  onnxOrder<T>(items: readonly T[]): T[] {
    return items.length === 4 ? permute(items, TO_NCHW) : [...items];
  }
  /** A Tessera axis of a rank-`rank` value, as an axis of its ONNX form. */
  onnxAxis(axis: number, rank: number): number {
    const a = axis < 0 ? axis + rank : axis;
    return rank === 4 ? invert(TO_NCHW)[a] : a;
  }
}

function hasValue(graph: Graph, name: string): boolean {
  try {
    graph.value(name);
    return true;
  } catch {
    return false;
  }
}

function makeNode(op: string, inputs: readonly string[], outputs: readonly string[], name: string, attrs: Record<string, AttrValue>, floatAttrs: readonly string[] = []): NodeProto {
  const attribute: AttributeProto[] = Object.entries(attrs).map(([key, v]) => {
    if (typeof v === 'string') return { name: key, type: AttributeType.STRING, s: new TextEncoder().encode(v) };
    if (typeof v === 'number') return floatAttrs.includes(key) ? { name: key, type: AttributeType.FLOAT, f: v } : { name: key, type: AttributeType.INT, i: v };
    return floatAttrs.includes(key) ? { name: key, type: AttributeType.FLOATS, floats: [...v] } : { name: key, type: AttributeType.INTS, ints: [...v] };
  });
  return { op_type: op, name, input: [...inputs], output: [...outputs], attribute };
}

export type Exporter = (ctx: ExportContext, node: Node) => void;
