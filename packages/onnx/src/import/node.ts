import type { NodeProto } from '../proto/proto.js';
import type { OnnxTensor } from '../tensors.js';
import { Attributes, OnnxImportError, type ImportContext } from './context.js';

/** One ONNX node being imported: its context, names, attributes, and a way to refuse it. */
export class NodeImport {
  readonly attrs: Attributes;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly op: string;

  constructor(
    readonly ctx: ImportContext,
    readonly node: NodeProto,
    /** The Tessera name of the node's main result (the ONNX node name, or its first output's). */
    readonly name: string,
  ) {
    this.op = node.op_type ?? '';
    this.inputs = node.input ?? [];
    this.outputs = node.output ?? [];
    this.attrs = new Attributes(node, (m) => this.fail(m));
  }

  get opset(): number {
    return this.ctx.opset;
  }

  fail(message: string): never {
    throw new OnnxImportError(this.name, this.op, this.opset, message);
  }

  /** Input `i`'s ONNX name, or undefined when the node leaves it out (absent or ''). */
  input(i: number): string | undefined {
    const name = this.inputs[i];
    return name === undefined || name === '' ? undefined : name;
  }
  required(i: number, what: string): string {
    return this.input(i) ?? this.fail(`input ${i} (${what}) is missing`);
  }
  /** Input `i` as a constant folded at import; refused by name when it is computed at run time. */
  constant(i: number, what: string): OnnxTensor {
    const name = this.required(i, what);
    return this.ctx.constant(name) ?? this.fail(`${what} (input ${i}, '${name}') must be a constant (an initializer or folded at import); Tessera needs it at import`);
  }
  optionalConstant(i: number, what: string): OnnxTensor | undefined {
    return this.input(i) === undefined ? undefined : this.constant(i, what);
  }
  /** Integer values of a constant input, or of an attribute in earlier opsets. */
  ints(inputIndex: number, attr: string, what: string): number[] | undefined {
    const t = this.optionalConstant(inputIndex, what);
    return t ? Array.from(t.data, Number) : this.attrs.ints(attr);
  }
  /** Refuses outputs beyond the first that something reads (Dropout's mask, MaxPool's indices). */
  onlyFirstOutput(used: ReadonlySet<string>): void {
    this.outputs.slice(1).forEach((o, k) => {
      if (o !== '' && used.has(o)) this.fail(`output ${k + 1} ('${o}') is read, but Tessera produces only the first output of ${this.op}`);
    });
  }
  /** The first output's ONNX name. */
  get output(): string {
    return this.outputs[0] ?? this.fail('has no output');
  }
}

export type Importer = (n: NodeImport) => void;
