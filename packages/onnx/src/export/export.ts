import { TesseraError, type Graph } from '@tessera/core';
import { TO_NCHW, permute } from '../layout.js';
import { DataType, encodeModel, type ValueInfoProto } from '../proto/proto.js';
import { ExportContext, type ExportOptions } from './context.js';
import { EXPORTERS } from './ops.js';

/** The opset exportOnnx writes (Softmax over one axis, Clip's bounds as inputs, Slice / Pad with inputs). */
export const EXPORT_OPSET = 13;

function valueInfo(name: string, shape: readonly number[]): ValueInfoProto {
  return { name, type: { tensor_type: { elem_type: DataType.FLOAT, shape: { dim: shape.map((d) => ({ dim_value: d })) } } } };
}

/** True if some value of the graph carries `name` in the model. */
function hasModelName(ctx: ExportContext, graph: Graph, name: string): boolean {
  return [...graph.inputs.map((v) => v.name), ...graph.constants.keys(), ...graph.nodes.map((n) => n.name)].some((v) => ctx.name(v) === name);
}

/**
 * A Tessera graph as an ONNX model (opset 13, float32). Rank-4 values are NHWC in Tessera and NCHW
 * in the model, as ONNX models are: 4-D inputs and outputs are declared NCHW, filters become OIHW,
 * and `importOnnx(exportOnnx(g), { layout: 'NHWC' })` has g's interface again.
 */
export function exportOnnx(graph: Graph, options: ExportOptions = {}): Uint8Array {
  const ctx = new ExportContext(graph, options);
  for (const node of graph.nodes) {
    const exporter = EXPORTERS[node.op];
    if (!exporter) throw new TesseraError(`exportOnnx has no exporter for this op`, { node: node.name, op: node.op });
    exporter(ctx, node);
  }
  const onnxShape = (name: string): readonly number[] => (ctx.rank(name) === 4 ? permute(ctx.shape(name), TO_NCHW) : ctx.shape(name));
  // ONNX outputs are value names: an output named otherwise (or a value output twice) gets an Identity.
  const outputs = Object.entries(graph.outputs).map(([key, value]) => {
    const source = ctx.value(value);
    if (source === key) return valueInfo(key, onnxShape(value));
    // An input, a constant or a value output twice: an Identity, named by the key where it is free.
    const free = !graph.inputs.some((v) => v.name === key) && !hasModelName(ctx, graph, key);
    const name = free ? key : ctx.fresh(key);
    ctx.nodes.push({ op_type: 'Identity', name, input: [source], output: [name] });
    return valueInfo(name, onnxShape(value));
  });
  return encodeModel({
    ir_version: 7,
    producer_name: 'tessera',
    producer_version: '0.1.0',
    opset_import: [{ domain: '', version: EXPORT_OPSET }],
    graph: {
      name: graph.name,
      node: ctx.nodes,
      initializer: ctx.initializers,
      input: graph.inputs.map((v) => valueInfo(v.name, onnxShape(v.name))),
      output: outputs,
    },
  });
}
