import { OpError, TesseraError, type Graph, type SymbolicValue } from '@tessera/core';
import { TO_NHWC, permute } from '../layout.js';
import { DataType, decodeModel, type GraphProto, type ModelProto } from '../proto/proto.js';
import { dataTypeName, readTensor } from '../tensors.js';
import { ImportContext, OnnxImportError, sanitizeName } from './context.js';
import { NodeImport, type Importer } from './node.js';
import { MATH_IMPORTERS } from './ops-math.js';
import { SHAPE_IMPORTERS } from './ops-shape.js';
import { WINDOW_IMPORTERS } from './ops-window.js';

export interface ImportOptions {
  /**
   * 'NCHW' (default): the graph keeps the model's interface, 4-D inputs and outputs in NCHW, with
   * transposes at the boundary; the body runs in NHWC. 'NHWC': 4-D inputs and outputs are NHWC
   * ([N, H, W, C] for the model's [N, C, H, W]), no boundary transposes.
   */
  readonly layout?: 'NCHW' | 'NHWC';
  /** Graph name (default: the model's graph name). */
  readonly name?: string;
  /** Static shapes for inputs whose declared shape has symbolic dimensions, in the model's order (NCHW). */
  readonly inputShapes?: Readonly<Record<string, readonly number[]>>;
}

/** The ONNX ops Tessera imports, by op_type. */
export const IMPORTERS: Readonly<Record<string, Importer>> = { ...WINDOW_IMPORTERS, ...MATH_IMPORTERS, ...SHAPE_IMPORTERS };

/** The ai.onnx opset the model imports (domain '' or 'ai.onnx'). */
function onnxOpset(model: ModelProto): number {
  const entry = (model.opset_import ?? []).find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx');
  return Number(entry?.version ?? 1);
}

function declaredShape(graph: GraphProto, name: string, options: ImportOptions): number[] {
  const given = options.inputShapes?.[name];
  if (given) return [...given];
  const info = (graph.input ?? []).find((v) => v.name === name);
  const tensor = info?.type?.tensor_type;
  if (!tensor) throw new TesseraError(`input '${name}' is not a tensor`);
  if (tensor.elem_type !== undefined && tensor.elem_type !== DataType.FLOAT) {
    throw new TesseraError(`input '${name}' has data type ${dataTypeName(tensor.elem_type)}: Tessera inputs are float32`);
  }
  const dims = tensor.shape?.dim ?? [];
  return dims.map((d, i) => {
    if (d.dim_value !== undefined && d.dim_value > 0) return Number(d.dim_value);
    throw new TesseraError(
      `input '${name}' has a symbolic or unknown dimension ${i} ('${d.dim_param ?? '?'}'): give it with importOnnx(bytes, { inputShapes: { '${name}': [...] } })`,
    );
  });
}

/**
 * An ONNX model as a Tessera graph. Initializers become constants, shape arithmetic on static
 * shapes folds at import, and every node maps to Tessera ops (docs/FORMAT.md, "ONNX"); anything
 * else is refused with an error naming the node, the op and the opset.
 */
export function importOnnx(bytes: Uint8Array, options: ImportOptions = {}): Graph {
  const model = decodeModel(bytes);
  const graph = model.graph ?? (() => { throw new TesseraError('the ONNX model has no graph'); })();
  const opset = onnxOpset(model);
  const nhwcInterface = options.layout === 'NHWC';
  const ctx = new ImportContext(sanitizeName(options.name ?? graph.name ?? '', 'onnx'), opset);

  for (const t of graph.initializer ?? []) ctx.setConst(t.name ?? '', readTensor(t, `initializer '${t.name}'`));
  for (const input of graph.input ?? []) {
    const name = input.name ?? '';
    if (ctx.has(name)) continue; // an initializer listed as an input (IR < 4): a constant here
    const shape = declaredShape(graph, name, options);
    const nhwc = nhwcInterface && shape.length === 4;
    const sym = ctx.g.input(ctx.fresh(name), nhwc ? permute(shape, TO_NHWC) : shape);
    ctx.setValue(name, sym, nhwc ? 'nhwc' : 'asis');
  }

  const nodes = graph.node ?? [];
  for (const node of nodes) for (const i of node.input ?? []) ctx.usedNames.add(i);
  for (const o of graph.output ?? []) ctx.usedNames.add(o.name ?? '');

  for (const node of nodes) {
    const op = node.op_type ?? '';
    const label = node.name || node.output?.[0] || op;
    const n = new NodeImport(ctx, node, sanitizeName(label, op));
    if ((node.domain ?? '') !== '' && node.domain !== 'ai.onnx') n.fail(`domain '${node.domain}' is not supported (ai.onnx only)`);
    const importer = IMPORTERS[op] ?? n.fail('unsupported op (docs/FORMAT.md lists the ONNX ops Tessera imports)');
    for (const i of node.input ?? []) if (i !== '' && !ctx.has(i)) n.fail(`input '${i}' is not defined before this node`);
    try {
      importer(n);
    } catch (e) {
      if (e instanceof OnnxImportError) throw e;
      if (e instanceof TesseraError || e instanceof OpError) n.fail(e.message);
      throw e;
    }
  }

  const outputs: Record<string, SymbolicValue> = {};
  for (const o of graph.output ?? []) {
    const name = o.name ?? '';
    if (!ctx.has(name)) throw new TesseraError(`output '${name}' is not computed by any node`);
    const rank = ctx.shape(name).length;
    outputs[sanitizeName(name, 'output')] = nhwcInterface && rank === 4 && !ctx.constant(name) ? ctx.nhwc(name) : ctx.asis(name);
  }
  return ctx.g.build(outputs);
}
