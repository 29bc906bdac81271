import type { Graph } from './graph.js';
import { opSpec } from './ops/index.js';
import { numel, shapeStr, type Shape } from './shape.js';
import { valueShapeStr } from './batch.js';

export interface SummaryRow {
  readonly node: string;
  readonly op: string;
  readonly shape: Shape;
  /** Elements of the constant operands this node consumes (weights, biases). */
  readonly params: number;
  readonly macs: number;
  /** Bytes read and written: operands plus output, float32. */
  readonly bytes: number;
}

export interface Summary {
  readonly rows: readonly SummaryRow[];
  readonly totalParams: number;
  readonly totalMacs: number;
  /** The graph's batch is open: shapes and MACs are per item (batch 1). */
  readonly perItem: boolean;
}

/** Per node its op, output shape, parameters and MACs (Keras' model.summary()). */
export function summarize(graph: Graph): Summary {
  const rows = graph.nodes.map((n) => {
    const shapes = n.inputs.map((i) => graph.value(i).shape);
    const params = n.inputs.filter((i) => graph.kind(i) === 'constant').reduce((s, i) => s + numel(graph.value(i).shape), 0);
    const { macs } = opSpec(n.op).cost(shapes, n.output.shape, n.attrs);
    const bytes = 4 * (shapes.reduce((s, sh) => s + numel(sh), 0) + numel(n.output.shape));
    return { node: n.name, op: n.op, shape: n.output.shape, params, macs, bytes };
  });
  return {
    rows,
    totalParams: rows.reduce((s, r) => s + r.params, 0),
    totalMacs: rows.reduce((s, r) => s + r.macs, 0),
    perItem: graph.openBatch,
  };
}

/** The summary as a fixed-width text table. */
export function formatSummary(graph: Graph, summary = summarize(graph)): string {
  const head = ['node', 'op', 'output shape', 'params', 'MACs'];
  const body = summary.rows.map((r) => [r.node, r.op, shapeStr(r.shape), fmt(r.params), fmt(r.macs)]);
  const inputs = graph.inputs.map((v) => [v.name, 'input', valueShapeStr(v), '0', '0']);
  const all = [head, ...inputs, ...body];
  const widths = head.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((cell, c) => (c >= 3 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ');
  const rule = '-'.repeat(line(head).length);
  return [
    `graph '${graph.name}'`,
    rule,
    line(head),
    rule,
    ...[...inputs, ...body].map(line),
    rule,
    `total params: ${fmt(summary.totalParams)}    total MACs: ${fmt(summary.totalMacs)}${summary.perItem ? ' per item (the batch is open)' : ''}`,
    `outputs: ${Object.entries(graph.outputs).map(([k, v]) => `${k} = ${v} ${shapeStr(graph.value(v).shape)}`).join(', ')}`,
  ].join('\n');
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
