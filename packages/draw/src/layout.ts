import dagre, { type EdgeLabel, type GraphLabel, type NodeLabel } from '@dagrejs/dagre';
import { formatMacs, type Picture, type PictureNode } from './model.js';
import { FONT } from './style.js';

/** A box placed by the layout: top-left corner, size, and the lines of text it holds. */
export interface PlacedNode {
  readonly node: PictureNode;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  /** Line 0 is the node's name; the others its op, shape and cost, constants, outputs. */
  readonly lines: readonly string[];
}

export interface PlacedEdge {
  readonly from: string;
  readonly to: string;
  /** The polyline from the source box's border to the target's. */
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

export interface Layout {
  readonly picture: Picture;
  readonly nodes: readonly PlacedNode[];
  readonly edges: readonly PlacedEdge[];
  readonly width: number;
  readonly height: number;
}

/** Spacing handed to dagre (pixels). */
const SPACING = { nodesep: 18, ranksep: 26, edgesep: 8, marginx: 8, marginy: 8 } as const;

/** The text of a box, whole (the tooltip): name, op and details, shape and cost, constants, outputs. */
export function textOf(node: PictureNode): string[] {
  const opLine = [node.op, node.detail].filter(Boolean).join(' · ');
  const cost = formatMacs(node.macs);
  const lines = [node.id, opLine, cost ? `${node.shape} · ${cost}` : node.shape];
  if (node.constants) lines.push(node.constants);
  if (node.outputs.length > 0) lines.push(`⇒ output ${node.outputs.join(', ')}`);
  return lines;
}

export function clip(line: string): string {
  return line.length <= FONT.maxChars ? line : `${line.slice(0, FONT.maxChars - 1)}…`;
}

/** Lays a picture out top to bottom with dagre (layered, Sugiyama-style): every box's place and every edge's route. */
export function layoutPicture(picture: Picture): Layout {
  const g = new dagre.graphlib.Graph<GraphLabel, NodeLabel, EdgeLabel>();
  g.setGraph({ rankdir: 'TB', ...SPACING });
  g.setDefaultEdgeLabel(() => ({}));
  const lines = new Map<string, string[]>();
  for (const node of picture.nodes) {
    const text = textOf(node).map(clip);
    lines.set(node.id, text);
    const width = Math.ceil(Math.max(...text.map((l) => l.length)) * FONT.charWidth + 2 * FONT.padding);
    g.setNode(node.id, { width, height: text.length * FONT.lineHeight + 2 * FONT.padding });
  }
  for (const e of picture.edges) g.setEdge(e.from, e.to);
  dagre.layout(g);
  const nodes = picture.nodes.map((node) => {
    const { x, y, width, height } = g.node(node.id);
    // dagre gives centers; the renderers want corners.
    return { node, x: x! - width / 2, y: y! - height / 2, width, height, lines: lines.get(node.id)! };
  });
  const edges = picture.edges.map((e) => ({ ...e, points: (g.edge(e.from, e.to).points ?? []).map((p: { x: number; y: number }) => ({ x: p.x, y: p.y })) }));
  const { width = 0, height = 0 } = g.graph();
  return { picture, nodes, edges, width, height };
}
