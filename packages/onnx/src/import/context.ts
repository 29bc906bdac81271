import { GraphBuilder, Tensor, TesseraError, shapeStr, type OpName, type SymbolicValue } from '@tessera/core';
import type { AttributeProto, NodeProto } from '../proto/proto.js';
import { AttributeType } from '../proto/proto.js';
import { TO_NCHW, TO_NHWC, isIdentity, permute, transposeData } from '../layout.js';
import { readTensor, type OnnxTensor } from '../tensors.js';

/**
 * What an ONNX value name stands for during import: a constant folded at import (initializers,
 * Constant nodes, shape arithmetic), or a value of the Tessera graph. A 4-D value may be held in
 * ONNX's order (`asis`, NCHW) and / or transposed to NHWC (`nhwc`); each form is made once, when
 * first asked for.
 */
export type Entry =
  | { readonly kind: 'const'; readonly tensor: OnnxTensor; sym?: SymbolicValue; nhwcSym?: SymbolicValue }
  | { readonly kind: 'value'; readonly shape: readonly number[]; asis?: SymbolicValue; nhwc?: SymbolicValue };

/** Refused by the importer: names the node, the op and the opset. */
export class OnnxImportError extends TesseraError {
  constructor(node: string, op: string, opset: number, message: string) {
    super(message, { node, op: `${op}, opset ${opset}` });
    this.name = 'OnnxImportError';
  }
}

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** A Tessera-safe name: not empty, not a prototype key, at most 1,024 characters. */
export function sanitizeName(name: string, fallback: string): string {
  let n = name.length > 0 ? name : fallback;
  if (FORBIDDEN.has(n)) n = `${n}_`;
  return n.length > 1000 ? n.slice(0, 1000) : n;
}

export class ImportContext {
  readonly g: GraphBuilder;
  private readonly entries = new Map<string, Entry>();
  private readonly used = new Set<string>();
  /** ONNX names that some node or graph output reads (so an unused extra output may be dropped). */
  readonly usedNames = new Set<string>();

  constructor(
    name: string,
    readonly opset: number,
  ) {
    this.g = new GraphBuilder(name);
  }

  /** A fresh, unique Tessera name from `base`. */
  fresh(base: string): string {
    let name = sanitizeName(base, 'value');
    for (let k = 1; this.used.has(name); k++) name = `${sanitizeName(base, 'value')}_${k}`;
    this.used.add(name);
    return name;
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }
  entry(name: string): Entry {
    const e = this.entries.get(name);
    if (!e) throw new Error(`value '${name}' is not defined before its use`);
    return e;
  }
  set(name: string, entry: Entry): void {
    this.entries.set(name, entry);
  }
  setValue(name: string, sym: SymbolicValue, form: 'asis' | 'nhwc'): void {
    const shape = form === 'nhwc' ? permute(sym.shape, TO_NCHW) : sym.shape;
    this.entries.set(name, form === 'nhwc' ? { kind: 'value', shape, nhwc: sym } : { kind: 'value', shape, asis: sym });
  }
  setConst(name: string, tensor: OnnxTensor): void {
    this.entries.set(name, { kind: 'const', tensor });
  }

  /** The ONNX shape of a value (NCHW for images). */
  shape(name: string): readonly number[] {
    const e = this.entry(name);
    return e.kind === 'const' ? e.tensor.shape : e.shape;
  }
  /** The folded constant behind a name, if it is one. */
  constant(name: string): OnnxTensor | undefined {
    const e = this.entries.get(name);
    return e?.kind === 'const' ? e.tensor : undefined;
  }
  /** True where the value is already held in NHWC (so NHWC ops need no transpose). */
  heldNhwc(name: string): boolean {
    const e = this.entry(name);
    return e.kind === 'value' && e.nhwc !== undefined;
  }

  /** A Tessera float32 constant. */
  floatConstant(base: string, shape: readonly number[], data: ArrayLike<number>): SymbolicValue {
    return this.g.constant(this.fresh(base), new Tensor(shape, Float32Array.from(data)));
  }

  /** The value in ONNX's order. */
  asis(name: string): SymbolicValue {
    const e = this.entry(name);
    if (e.kind === 'const') {
      e.sym ??= this.floatConstant(name, e.tensor.shape, e.tensor.data);
      return e.sym;
    }
    e.asis ??= this.transpose(e.nhwc!, TO_NCHW, `${e.nhwc!.name}/to_nchw`);
    return e.asis;
  }

  /** A 4-D value in NHWC. */
  nhwc(name: string): SymbolicValue {
    const e = this.entry(name);
    if (e.kind === 'const') {
      const t = e.tensor;
      e.nhwcSym ??= this.floatConstant(`${name}/nhwc`, permute(t.shape, TO_NHWC), transposeData(t.data, t.shape, TO_NHWC));
      return e.nhwcSym;
    }
    if (e.shape.length !== 4) throw new Error(`value '${name}' ${shapeStr(e.shape)} is not 4-D`);
    e.nhwc ??= this.transpose(e.asis!, TO_NHWC, `${e.asis!.name}/to_nhwc`);
    return e.nhwc;
  }

  /** A transpose node (none for the identity permutation). */
  transpose(x: SymbolicValue, perm: readonly number[], base: string): SymbolicValue {
    if (isIdentity(perm)) return x;
    return this.g.transpose(x, perm, { name: this.fresh(base) });
  }

  /** Adds a Tessera node with a fresh name from `base`. */
  op<K extends OpName>(op: K, inputs: readonly SymbolicValue[], attrs: Record<string, unknown>, base: string): SymbolicValue {
    return this.g.op(op, inputs, { ...attrs, name: this.fresh(base) } as never);
  }
}

/** A node's attributes by name, typed on reading, with defaults. */
export class Attributes {
  private readonly byName = new Map<string, AttributeProto>();
  constructor(
    node: NodeProto,
    private readonly fail: (message: string) => never,
  ) {
    for (const a of node.attribute ?? []) {
      if (a.ref_attr_name) fail(`attribute '${a.name}' refers to a function attribute, which is not supported`);
      this.byName.set(a.name ?? '', a);
    }
  }
  has(name: string): boolean {
    return this.byName.has(name);
  }
  names(): string[] {
    return [...this.byName.keys()];
  }
  int(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a ? Number(a.i ?? 0) : fallback;
  }
  float(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a ? (a.f ?? 0) : fallback;
  }
  ints(name: string): number[] | undefined {
    const a = this.byName.get(name);
    return a ? (a.ints ?? []).map(Number) : undefined;
  }
  string(name: string, fallback: string): string {
    const a = this.byName.get(name);
    return a?.s ? new TextDecoder().decode(a.s) : fallback;
  }
  tensor(name: string): OnnxTensor | undefined {
    const a = this.byName.get(name);
    if (!a) return undefined;
    if (a.type === AttributeType.TENSOR && a.t) return readTensor(a.t, `attribute '${name}'`);
    if (a.type === AttributeType.FLOAT) return { shape: [], kind: 'float', data: Float32Array.of(a.f ?? 0) };
    if (a.type === AttributeType.INT) return { shape: [], kind: 'int', data: Float64Array.of(Number(a.i ?? 0)) };
    if (a.type === AttributeType.FLOATS) return { shape: [a.floats?.length ?? 0], kind: 'float', data: Float32Array.from(a.floats ?? []) };
    if (a.type === AttributeType.INTS) return { shape: [a.ints?.length ?? 0], kind: 'int', data: Float64Array.from((a.ints ?? []).map(Number)) };
    return this.fail(`attribute '${name}' of type ${a.type} is not supported`);
  }
}
