import type { Graph } from '@tessera/core';
import { renderDot } from './dot.js';
import { comparisonPanels, graphPanel, type RewriteCount } from './panels.js';
import { renderSvg } from './svg.js';

export { pictureOf, isFusedOp, dims, compact, formatMacs, type Picture, type PictureNode, type PictureEdge, type NodeRole } from './model.js';
export { layoutPicture, textOf, type Layout, type PlacedNode, type PlacedEdge } from './layout.js';
export { graphPanel, comparisonPanels, type Panel, type RewriteCount } from './panels.js';
export { renderSvg, escapeXml } from './svg.js';
export { renderDot, dotString } from './dot.js';
export { BOX_STYLES, OUTPUT_MARK, type BoxStyle } from './style.js';

export type DrawFormat = 'svg' | 'dot';

const RENDERERS = { svg: renderSvg, dot: renderDot } as const;

/** A graph's picture as SVG or DOT; `label` heads it (`after O1`). */
export function drawGraph(graph: Graph, format: DrawFormat = 'svg', label?: string): string {
  return RENDERERS[format]([graphPanel(graph, label)]);
}

/**
 * A graph before and after an optimization level, side by side, with the passes' rewrite count
 * (`reports`: @tessera/passes' PassReport[] from `optimize`).
 */
export function drawComparison(before: Graph, after: Graph, level: string, reports: readonly RewriteCount[], format: DrawFormat = 'svg'): string {
  return RENDERERS[format](comparisonPanels(before, after, level, reports));
}
