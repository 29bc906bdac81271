import { layoutPicture, textOf, type Layout, type PlacedEdge, type PlacedNode } from './layout.js';
import type { NodeRole } from './model.js';
import type { Panel } from './panels.js';
import { BOX_STYLES, COLORS, FONT, OUTPUT_MARK } from './style.js';

/*
 * SVG written from the layout's coordinates. Every box is a `<g class="node ...">` carrying
 * `data-node` / `data-op` / `data-role` (and the class `fused` on fused ops), every arrow a
 * `<path class="edge">` with `data-from` / `data-to`, every panel a `<g class="panel"
 * data-panel="...">`: tools and tests can read the picture back.
 */

/** Escapes text for SVG / XML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ENTITIES[c]);
}

const XML_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

const HEADING = { lineHeight: 16, size: 12, gap: 8 } as const;
const PANEL_GAP = 48;
const MARGIN = 12;
const LEGEND = { height: 26, swatch: 14, gap: 18 } as const;

/** Numbers in the output: two decimals at most, so the file stays small and diffable. */
function n(x: number): string {
  return String(Math.round(x * 100) / 100);
}

/** The SVG document of one or more panels side by side, with a legend on top. */
export function renderSvg(panels: readonly Panel[]): string {
  const layouts = panels.map((p) => layoutPicture(p.picture));
  const headingHeight = Math.max(...panels.map((p) => p.heading.length)) * HEADING.lineHeight + HEADING.gap;
  const top = MARGIN + LEGEND.height;
  const parts: string[] = [];
  let x = MARGIN;
  panels.forEach((panel, i) => {
    parts.push(panelSvg(panel, layouts[i], x, top, headingHeight));
    x += Math.max(layouts[i].width, headingWidth(panel)) + PANEL_GAP;
  });
  const legend = legendSvg(MARGIN, MARGIN);
  const width = Math.ceil(Math.max(x - PANEL_GAP, MARGIN + legend.width) + MARGIN);
  const height = Math.ceil(top + headingHeight + Math.max(...layouts.map((l) => l.height)) + MARGIN);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${escapeXml(FONT.family)}" font-size="${FONT.size}">`,
    `<title>${escapeXml(panels.map((p) => p.heading[0]).join(' | '))}</title>`,
    '<defs><marker id="tessera-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">' +
      `<path d="M0,0 L10,5 L0,10 z" fill="${COLORS.edge}"/></marker></defs>`,
    `<rect class="background" x="0" y="0" width="${width}" height="${height}" fill="${COLORS.background}"/>`,
    legend.svg,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function headingWidth(panel: Panel): number {
  return Math.max(...panel.heading.map((l) => l.length)) * HEADING.size * FONT.advance;
}

function panelSvg(panel: Panel, layout: Layout, x: number, y: number, headingHeight: number): string {
  const heading = panel.heading
    .map((line, i) => `<text x="0" y="${(i + 1) * HEADING.lineHeight - 4}" font-size="${HEADING.size}"${i === 0 ? ' font-weight="bold"' : ''} fill="${i === 0 ? COLORS.title : COLORS.muted}">${escapeXml(line)}</text>`)
    .join('');
  return [
    `<g class="panel" data-panel="${escapeXml(panel.key)}" transform="translate(${n(x)},${n(y)})">`,
    `<g class="heading">${heading}</g>`,
    `<g class="graph" transform="translate(0,${headingHeight})">`,
    `<g class="edges" fill="none" stroke="${COLORS.edge}" stroke-width="1.2">`,
    ...layout.edges.map(edgeSvg),
    '</g>',
    '<g class="nodes">',
    ...layout.nodes.map(nodeSvg),
    '</g></g></g>',
  ].join('\n');
}

function edgeSvg(e: PlacedEdge): string {
  const d = e.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${n(p.x)},${n(p.y)}`).join(' ');
  return `<path class="edge" data-from="${escapeXml(e.from)}" data-to="${escapeXml(e.to)}" d="${d}" marker-end="url(#tessera-arrow)"/>`;
}

function nodeSvg(p: PlacedNode): string {
  const { node } = p;
  const style = BOX_STYLES[node.role];
  const output = node.outputs.length > 0;
  const classes = ['node', node.role, ...(output ? ['output'] : [])].join(' ');
  const text = p.lines
    .map((line, i) => {
      const attrs = i === 0 ? ` font-weight="bold" fill="${COLORS.text}"` : ` fill="${i >= 3 ? COLORS.muted : COLORS.text}"`;
      return `<text x="${FONT.padding}" y="${n(FONT.padding + (i + 1) * FONT.lineHeight - 3.5)}"${attrs}>${escapeXml(line)}</text>`;
    })
    .join('');
  const mark = output
    ? `<rect class="output-mark" x="0" y="${n(p.height - OUTPUT_MARK.height)}" width="${n(p.width)}" height="${OUTPUT_MARK.height}" fill="${OUTPUT_MARK.color}"/>`
    : '';
  return (
    `<g class="${classes}" data-node="${escapeXml(node.id)}" data-op="${escapeXml(node.op)}" data-role="${node.role}" transform="translate(${n(p.x)},${n(p.y)})">` +
    `<title>${escapeXml(textOf(node).join('\n'))}</title>` +
    `<rect width="${n(p.width)}" height="${n(p.height)}" rx="${style.radius}" ${boxPaint(node.role)}/>` +
    mark +
    text +
    '</g>'
  );
}

function boxPaint(role: NodeRole): string {
  const s = BOX_STYLES[role];
  return `fill="${s.fill}" stroke="${s.stroke}" stroke-width="${s.strokeWidth}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}`;
}

/** One row: a swatch and the words for every role, then the output mark. */
function legendSvg(x: number, y: number): { svg: string; width: number } {
  const items: string[] = [];
  let at = 0;
  const swatchY = (LEGEND.height - LEGEND.swatch) / 2 - 4;
  const label = (text: string) => {
    items.push(`<text x="${n(at + LEGEND.swatch + 5)}" y="${n(swatchY + LEGEND.swatch - 3)}" fill="${COLORS.muted}">${escapeXml(text)}</text>`);
    at += LEGEND.swatch + 5 + text.length * FONT.charWidth + LEGEND.gap;
  };
  for (const [role, style] of Object.entries(BOX_STYLES) as [NodeRole, (typeof BOX_STYLES)[NodeRole]][]) {
    items.push(`<rect class="swatch" data-role="${role}" x="${n(at)}" y="${n(swatchY)}" width="${LEGEND.swatch}" height="${LEGEND.swatch}" rx="3" ${boxPaint(role)}/>`);
    label(style.legend);
  }
  items.push(`<rect class="swatch" data-role="output" x="${n(at)}" y="${n(swatchY + LEGEND.swatch - OUTPUT_MARK.height)}" width="${LEGEND.swatch}" height="${OUTPUT_MARK.height}" fill="${OUTPUT_MARK.color}"/>`);
  label(OUTPUT_MARK.legend);
  return { svg: `<g class="legend" transform="translate(${x},${y})">${items.join('')}</g>`, width: at - LEGEND.gap };
}
