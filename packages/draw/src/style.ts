import type { NodeRole } from './model.js';

/** How a box of each role looks, in SVG and DOT alike; the legend lists every entry. */
export interface BoxStyle {
  readonly fill: string;
  readonly stroke: string;
  readonly strokeWidth: number;
  /** SVG stroke-dasharray; '' for a solid line. */
  readonly dash: string;
  /** Corner radius. */
  readonly radius: number;
  /** The legend's words for it. */
  readonly legend: string;
}

export const BOX_STYLES: Readonly<Record<NodeRole, BoxStyle>> = {
  input: { fill: '#e3eefb', stroke: '#2f6db5', strokeWidth: 1.5, dash: '', radius: 12, legend: 'graph input' },
  op: { fill: '#ffffff', stroke: '#5f6368', strokeWidth: 1, dash: '', radius: 4, legend: 'op' },
  fused: { fill: '#ffe9c7', stroke: '#c96a00', strokeWidth: 2.5, dash: '', radius: 4, legend: 'fused op (pass output)' },
  view: { fill: '#f3f3f3', stroke: '#8a8a8a', strokeWidth: 1, dash: '4 3', radius: 4, legend: 'view (no kernel runs)' },
};

/** A graph output: a colored bar along the box's bottom edge (any role may be an output). */
export const OUTPUT_MARK = { color: '#1e8a4c', height: 4, legend: 'graph output' } as const;

export const COLORS = {
  background: '#ffffff',
  text: '#202124',
  muted: '#5f6368',
  edge: '#80868b',
  title: '#202124',
} as const;

/**
 * Text metrics. The picture uses a monospace font, so a line's width is its length times one
 * character's advance (about 0.6 em for common monospace faces): no text measuring, and the same
 * boxes in Node and in a browser.
 */
export const FONT = {
  family: "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace",
  size: 11,
  /** A character's advance as a fraction of the font size. */
  advance: 0.6,
  charWidth: 11 * 0.6,
  lineHeight: 14,
  padding: 6,
  /** Longer lines are cut with an ellipsis (the tooltip has them whole). */
  maxChars: 44,
} as const;
