import { escapeXml, isFusedOp } from '@tessera/draw';
import type { NodeSpan } from './run.js';

const ROW = 14;
const LABEL_WIDTH = 260;
const CHART_WIDTH = 720;
const AXIS = 18;

/** A Gantt chart of one run as SVG: a row per node in execution order, bars where it ran (fused ops in orange). */
export function timelineSvg(spans: readonly NodeSpan[], runMs: number): string {
  const total = Math.max(runMs, ...spans.map((s) => s.start + s.duration), 1e-3);
  const x = (ms: number) => LABEL_WIDTH + (ms / total) * CHART_WIDTH;
  const height = AXIS + spans.length * ROW + 4;
  const width = LABEL_WIDTH + CHART_WIDTH + 70;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => `<text x="${x(f * total)}" y="12" text-anchor="middle" fill="#5f6368">${(f * total).toFixed(2)} ms</text>`);
  const rows = spans.map((s, i) => {
    const y = AXIS + i * ROW;
    const label = s.node.length > 34 ? `${s.node.slice(0, 33)}…` : s.node;
    const fill = isFusedOp(s.op) ? '#e08a1e' : '#4a7fc1';
    return (
      `<g class="span" data-node="${escapeXml(s.node)}"><title>${escapeXml(`${s.node} (${s.op}): ${s.duration.toFixed(3)} ms`)}</title>` +
      `<text x="${LABEL_WIDTH - 6}" y="${y + 10}" text-anchor="end">${escapeXml(label)}</text>` +
      `<rect x="${x(s.start)}" y="${y + 2}" width="${Math.max(1, (s.duration / total) * CHART_WIDTH)}" height="${ROW - 4}" fill="${fill}"/>` +
      `<text x="${x(s.start + s.duration) + 4}" y="${y + 10}" fill="#5f6368">${s.duration.toFixed(2)}</text></g>`
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="ui-monospace, monospace" font-size="10">${ticks.join('')}${rows.join('')}</svg>`;
}
