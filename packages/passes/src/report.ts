import { summarize, type Graph, type Summary } from '@tessera/core';
import type { Pass, PassReport } from './types.js';

export interface ReportParts {
  readonly matched: number;
  readonly rewritten: number;
  readonly changes?: readonly string[];
  readonly skipped?: readonly string[];
  readonly notes?: readonly string[];
  readonly details?: unknown;
}

// Graphs are immutable: a summary computed once per graph serves the report of the pass before and after it.
const summaries = new WeakMap<Graph, Summary>();
function summaryOf(g: Graph): Summary {
  let s = summaries.get(g);
  if (!s) summaries.set(g, (s = summarize(g)));
  return s;
}

/** Builds a pass's report: counts from the pass, nodes / params / MACs from core's `summarize` of both graphs. */
export function makeReport(pass: Pick<Pass, 'name' | 'exact'>, before: Graph, after: Graph, parts: ReportParts): PassReport {
  const sb = summaryOf(before);
  const sa = summaryOf(after);
  return {
    pass: pass.name,
    exact: pass.exact,
    matched: parts.matched,
    rewritten: parts.rewritten,
    nodes: { before: before.nodes.length, after: after.nodes.length },
    params: { before: sb.totalParams, after: sa.totalParams },
    macs: { before: sb.totalMacs, after: sa.totalMacs },
    changes: parts.changes ?? [],
    skipped: parts.skipped ?? [],
    notes: parts.notes ?? [],
    ...(parts.details === undefined ? {} : { details: parts.details }),
  };
}

export interface FormatOptions {
  /** Lines of changes / skips listed per pass before "... and N more" (default 20). */
  readonly maxLines?: number;
}

/** The reports of a pipeline as text, for the CLI: a table, then each pass's changes. */
export function formatReport(reports: readonly PassReport[], options: FormatOptions = {}): string {
  const maxLines = options.maxLines ?? 20;
  const head = ['pass', 'kind', 'matched', 'rewritten', 'nodes', 'params', 'MACs', 'ms', 'verified'];
  const rows = reports.map((r) => [
    r.pass,
    r.exact ? 'exact' : 'LOSSY',
    String(r.matched),
    String(r.rewritten),
    arrow(r.nodes.before, r.nodes.after),
    arrow(r.params.before, r.params.after),
    arrow(r.macs.before, r.macs.after),
    r.timeMs === undefined ? '' : r.timeMs.toFixed(1),
    verified(r),
  ]);
  const all = [head, ...rows];
  const widths = head.map((_, c) => Math.max(...all.map((row) => row[c].length)));
  const line = (row: string[]) => row.map((cell, c) => (c >= 2 && c <= 7 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd();
  const rule = '-'.repeat(line(head).length);
  const out = [rule, line(head), rule, ...rows.map(line), rule];
  if (reports.length > 0) {
    const first = reports[0];
    const last = reports[reports.length - 1];
    out.push(
      `total: nodes ${arrow(first.nodes.before, last.nodes.after)}, params ${arrow(first.params.before, last.params.after)}, MACs ${arrow(first.macs.before, last.macs.after)}${pct(first.macs.before, last.macs.after)}`,
    );
  }
  for (const r of reports) {
    const lines = [
      ...r.notes.map((n) => `note: ${n}`),
      ...r.changes.map((c) => `- ${c}`),
      ...r.skipped.map((s) => `  (skipped) ${s}`),
    ];
    const m = r.verification?.mismatch;
    if (m) lines.push(`VERIFY FAILED: output '${m.output}'[${m.index}] was ${m.before}, now ${m.after} (bound ${m.bound.toExponential(3)})`);
    if (lines.length === 0) continue;
    out.push('', `${r.pass}:`);
    out.push(...lines.slice(0, maxLines).map((l) => `  ${l}`));
    if (lines.length > maxLines) out.push(`  ... and ${lines.length - maxLines} more`);
  }
  return out.join('\n');
}

function verified(r: PassReport): string {
  const v = r.verification;
  if (!v) return '';
  if (!v.compared) return 'n/a';
  return v.ok ? 'ok' : 'FAILED';
}

function arrow(before: number, after: number): string {
  return before === after ? fmt(before) : `${fmt(before)} -> ${fmt(after)}`;
}

function pct(before: number, after: number): string {
  if (before === 0 || before === after) return '';
  return ` (${(((after - before) / before) * 100).toFixed(1)}%)`;
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
