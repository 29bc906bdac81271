import { isView, operandName, opSpec, summarize, type Graph, type Node } from '@tessera/core';

/**
 * What a picture shows of a graph, before any layout: one box per graph input and per node, one
 * arrow per data dependency. Constants (weights) get no box of their own: they are listed on the
 * node that consumes them, so ResNet-50's hundreds of weights do not drown its ops.
 */

/** How a box is drawn (the style table in style.ts has one entry per role). */
export type NodeRole = 'input' | 'op' | 'fused' | 'view';

export interface PictureNode {
  /** The value's name (a node's name is the name of the value it produces). */
  readonly id: string;
  readonly role: NodeRole;
  /** 'input' for graph inputs. */
  readonly op: string;
  /** The output shape, as `1×28×28×8`. */
  readonly shape: string;
  readonly macs: number;
  /** Short attributes worth seeing (activation, stride, padding, the fused residual); may be ''. */
  readonly detail: string;
  /** The constant operands, grouped by shape: `filter 3×3×3×8 · bias 8`; '' when none. */
  readonly constants: string;
  /** Names under which this value is a graph output. */
  readonly outputs: readonly string[];
}

export interface PictureEdge {
  readonly from: string;
  readonly to: string;
}

export interface Picture {
  readonly name: string;
  readonly nodes: readonly PictureNode[];
  readonly edges: readonly PictureEdge[];
  readonly totalMacs: number;
  readonly totalParams: number;
}

/**
 * Fused ops (fused_conv2d, fused_matmul, fused_depthwise_conv2d) are the ops the fusion pass
 * creates; they are all, by the op table's convention, named `fused_*`.
 */
export function isFusedOp(op: string): boolean {
  return op.startsWith('fused_');
}

function roleOf(op: string): NodeRole {
  if (isFusedOp(op)) return 'fused';
  return isView(op) ? 'view' : 'op';
}

/** The picture of a graph: its inputs and nodes in topological order, with shapes, MACs and constants. */
export function pictureOf(graph: Graph): Picture {
  const summary = summarize(graph);
  const outputsOf = new Map<string, string[]>();
  for (const [out, value] of Object.entries(graph.outputs)) outputsOf.set(value, [...(outputsOf.get(value) ?? []), out]);
  const inputs: PictureNode[] = graph.inputs.map((v) => ({
    id: v.name,
    role: 'input',
    op: 'input',
    shape: dims(v.shape),
    macs: 0,
    detail: '',
    constants: '',
    outputs: outputsOf.get(v.name) ?? [],
  }));
  const nodes: PictureNode[] = graph.nodes.map((n, i) => ({
    id: n.name,
    role: roleOf(n.op),
    op: n.op,
    shape: dims(n.output.shape),
    macs: summary.rows[i].macs,
    detail: detailOf(graph, n),
    constants: constantsOf(graph, n),
    outputs: outputsOf.get(n.name) ?? [],
  }));
  const edges: PictureEdge[] = [];
  for (const n of graph.nodes) {
    // One arrow per distinct operand value: add(x, x) draws one.
    for (const from of new Set(n.inputs)) if (graph.kind(from) !== 'constant') edges.push({ from, to: n.name });
  }
  return { name: graph.name, nodes: [...inputs, ...nodes], edges, totalMacs: summary.totalMacs, totalParams: summary.totalParams };
}

/** A shape as `1×28×28×8` (a scalar as `scalar`). */
export function dims(shape: readonly number[]): string {
  return shape.length === 0 ? 'scalar' : shape.join('×');
}

/**
 * Attributes shown on a box, by attribute name: each gives a short text or '' (nothing worth
 * showing: the default). Attributes not in the table are left to the tooltip.
 */
const SHOWN_ATTRS: Readonly<Record<string, (value: unknown) => string>> = {
  activation: (v) => (v === 'none' ? '' : String(v)),
  strides: (v) => (Array.isArray(v) && v.some((s) => s !== 1) ? `stride ${v.join('×')}` : ''),
  dilations: (v) => (Array.isArray(v) && v.some((s) => s !== 1) ? `dilation ${v.join('×')}` : ''),
  ksize: (v) => (Array.isArray(v) ? `${v.join('×')} window` : ''),
  padding: (v) => (typeof v === 'string' ? v : 'explicit pads'),
};

function detailOf(graph: Graph, n: Node): string {
  // In the table's order: what was fused (the activation) first, geometry after.
  const parts = Object.entries(SHOWN_ATTRS).flatMap(([k, show]) => (Object.hasOwn(n.attrs, k) && show(n.attrs[k])) || []);
  // A fused node's optional operands are what it fused beyond the op (fused_conv2d's residual add).
  const spec = opSpec(n.op);
  const required = spec.variadic ? n.inputs.length : spec.inputs.length - (spec.optional ?? 0);
  for (let k = required; k < n.inputs.length; k++) {
    if (graph.kind(n.inputs[k]) !== 'constant') parts.push(`+ ${operandName(spec, k)}`);
  }
  return parts.join(' · ');
}

/** The constant operands by shape: `filter 3×3×3×8 · bias 8`, or `scale, offset, mean, variance 64`. */
function constantsOf(graph: Graph, n: Node): string {
  const spec = opSpec(n.op);
  const byShape = new Map<string, string[]>();
  n.inputs.forEach((v, k) => {
    if (graph.kind(v) !== 'constant') return;
    const key = dims(graph.value(v).shape);
    byShape.set(key, [...(byShape.get(key) ?? []), operandName(spec, k)]);
  });
  return [...byShape].map(([shape, names]) => `${names.join(', ')} ${shape}`).join(' · ');
}

/** MACs for a label: `862 MACs`, `1.2M MACs`, `3.9G MACs`; '' for none. */
export function formatMacs(macs: number): string {
  return macs === 0 ? '' : `${compact(macs)} MACs`;
}

/** A count in 3 significant digits with a k / M / G suffix (1234 -> 1.23k). */
export function compact(n: number): string {
  const units: readonly [number, string][] = [
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [scale, suffix] of units) if (Math.abs(n) >= scale) return `${+(n / scale).toPrecision(3)}${suffix}`;
  return String(n);
}
