import type { Graph } from '@tessera/core';
import { compact, pictureOf, type Picture } from './model.js';

/**
 * One picture in a drawing, with its heading. A drawing holds one panel (a graph) or two side by
 * side (before and after passes).
 */
export interface Panel {
  /** Names the panel in the output (`data-panel` in SVG, the cluster in DOT): 'graph', 'before', 'after'. */
  readonly key: string;
  /** Heading lines, first one bold. */
  readonly heading: readonly string[];
  readonly picture: Picture;
}

/** What the comparison reads of a pass report (@tessera/passes' PassReport has these fields). */
export interface RewriteCount {
  readonly pass: string;
  readonly rewritten: number;
}

/** The totals line of a heading: `7 nodes · 1.2M MACs · 3.5k params`. */
function totals(graph: Graph, picture: Picture): string {
  return `${graph.nodes.length} nodes · ${compact(picture.totalMacs)} MACs · ${compact(picture.totalParams)} params`;
}

/** A single graph's panel. */
export function graphPanel(graph: Graph, label?: string): Panel {
  const picture = pictureOf(graph);
  return { key: 'graph', heading: [label ? `${label}: ${graph.name}` : graph.name, totals(graph, picture)], picture };
}

/**
 * Before and after an optimization level, with the passes' rewrite count: the total, then the
 * passes that rewrote something (`12 rewrites: fold-batch-norm 4, fuse 8`).
 */
export function comparisonPanels(before: Graph, after: Graph, level: string, reports: readonly RewriteCount[]): [Panel, Panel] {
  const [pb, pa] = [pictureOf(before), pictureOf(after)];
  const total = reports.reduce((s, r) => s + r.rewritten, 0);
  const byPass = new Map<string, number>();
  for (const r of reports) if (r.rewritten > 0) byPass.set(r.pass, (byPass.get(r.pass) ?? 0) + r.rewritten);
  const which = [...byPass].map(([pass, n]) => `${pass} ${n}`).join(', ');
  return [
    { key: 'before', heading: [`before: ${before.name}`, totals(before, pb)], picture: pb },
    {
      key: 'after',
      heading: [`after ${level}: ${after.name}`, totals(after, pa), `${total} rewrite${total === 1 ? '' : 's'}${which ? `: ${which}` : ''}`],
      picture: pa,
    },
  ];
}
