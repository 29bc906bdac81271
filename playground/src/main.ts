/**
 * The playground page: wires the controls to the graph sources, @tessera/draw's picture, runs on
 * the backends of this page (cpu, workers, webgl: imported here, each registers itself), the
 * per-node timeline and the conformance suite.
 */
import '@tessera/backend-cpu';
import '@tessera/backend-workers';
import '@tessera/backend-webgl';
import type { Graph } from '@tessera/core';
import { comparisonPanels, graphPanel, renderSvg } from '@tessera/draw';
import { optimize, PIPELINES } from '@tessera/passes';
import { backendNames } from '@tessera/runtime';
import { runSuite } from './conformance.js';
import { EXAMPLE_NAMES, exampleGraph, graphFromFiles, loaderExtensions } from './graph-source.js';
import { yieldToPage } from './page-yield.js';
import { runGraph, type RunResult } from './run.js';
import { timelineSvg } from './timeline.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const ui = {
  example: $<HTMLSelectElement>('example'),
  file: $<HTMLInputElement>('file'),
  level: $<HTMLSelectElement>('level'),
  backend: $<HTMLSelectElement>('backend'),
  runs: $<HTMLInputElement>('runs'),
  run: $<HTMLButtonElement>('run'),
  status: $<HTMLSpanElement>('status'),
  picture: $<HTMLDivElement>('picture'),
  results: $<HTMLTableElement>('results'),
  timeline: $<HTMLDivElement>('timeline'),
  timelineCaption: $<HTMLElement>('timeline-caption'),
  confBackends: $<HTMLSpanElement>('conformance-backends'),
  confRuns: $<HTMLInputElement>('conformance-runs'),
  confGraphs: $<HTMLInputElement>('conformance-graphs'),
  confSeed: $<HTMLInputElement>('conformance-seed'),
  confRun: $<HTMLButtonElement>('conformance-run'),
  confProgress: $<HTMLProgressElement>('conformance-progress'),
  confStatus: $<HTMLDivElement>('conformance-status'),
  confSummary: $<HTMLTableElement>('conformance-summary'),
  agreement: $<HTMLTableElement>('agreement'),
};

/** The page's backends, in the order users think of them. */
const BACKENDS = ['cpu', 'workers', 'webgl'].filter((b) => backendNames().includes(b));

function options(select: HTMLSelectElement, values: readonly string[], selected?: string): void {
  select.replaceChildren(...values.map((v) => new Option(v, v, false, v === selected)));
}

options(ui.example, EXAMPLE_NAMES, 'seed-cnn');
options(ui.level, Object.keys(PIPELINES), 'O1');
options(ui.backend, BACKENDS, 'cpu');
ui.file.accept = loaderExtensions().concat('.bin').join(',');
ui.confBackends.replaceChildren(
  ...BACKENDS.map((b) => {
    const label = document.createElement('label');
    const box = Object.assign(document.createElement('input'), { type: 'checkbox', checked: true, value: b, name: 'conformance-backend' });
    label.append(box, b);
    return label;
  }),
);

/** The graph picked (an example or an opened file), and its optimized form per level. */
let source: { graph: Graph; label: string } | undefined;
const optimized = new Map<string, ReturnType<typeof optimize>>();

function setStatus(el: HTMLElement, text: string, error = false): void {
  el.textContent = text;
  el.classList.toggle('error', error);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Runs `job` with the controls disabled, reporting a failure in `statusEl`. */
async function busy(statusEl: HTMLElement, job: () => Promise<void>): Promise<void> {
  const buttons = [ui.run, ui.confRun];
  buttons.forEach((b) => (b.disabled = true));
  try {
    await job();
  } catch (e) {
    setStatus(statusEl, errorText(e), true);
    console.error(e);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

function optimizedAt(level: string): ReturnType<typeof optimize> {
  let result = optimized.get(level);
  if (!result) optimized.set(level, (result = optimize(source!.graph, { level })));
  return result;
}

/** Draws the graph at the chosen level: alone at O0, else before and after side by side. */
function showPicture(): void {
  if (!source) return;
  const level = ui.level.value;
  const result = optimizedAt(level);
  const panels = level === 'O0' ? [graphPanel(source.graph)] : comparisonPanels(source.graph, result.graph, level, result.reports);
  // The renderer escapes every text it writes: the SVG is safe to insert as markup.
  ui.picture.innerHTML = renderSvg(panels);
}

async function pick(load: () => Promise<{ graph: Graph; label: string }>): Promise<void> {
  await busy(ui.status, async () => {
    setStatus(ui.status, 'loading the graph…');
    await yieldToPage();
    source = await load();
    optimized.clear();
    showPicture();
    setStatus(ui.status, `${source.label}: ${source.graph.nodes.length} nodes`);
  });
}

ui.example.addEventListener('change', () => void pick(async () => ({ graph: exampleGraph(ui.example.value), label: ui.example.value })));
ui.file.addEventListener('change', () => {
  const files = Array.from(ui.file.files ?? []);
  if (files.length > 0) void pick(async () => ({ graph: await graphFromFiles(files), label: files.map((f) => f.name).join(' + ') }));
});
ui.level.addEventListener('change', () => void busy(ui.status, async () => showPicture()));

function cell(text: string, cls = ''): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

/** An error as a fraction of its bound: two significant digits (0 exactly when the results are equal). */
function ratio(x: number): string {
  return Number.isFinite(x) && x !== 0 ? x.toPrecision(2) : String(x);
}

function addResultRow(label: string, level: string, r: RunResult): void {
  const ok = r.agreement.every((a) => a.ok);
  const tr = document.createElement('tr');
  tr.dataset.backend = r.backend;
  tr.dataset.agrees = String(ok);
  const worst = Math.max(...r.agreement.map((a) => a.worstRatio));
  tr.append(
    cell(label),
    cell(level),
    cell(r.backend),
    cell(r.kernels),
    cell(r.compileMs.toFixed(1), 'num'),
    cell(`${r.medianMs.toFixed(2)} (${r.times.length} runs)`, 'num'),
    cell(ok ? `agrees (worst error ${ratio(worst)} of its bound)` : `DIFFERS: ${r.agreement.filter((a) => !a.ok).map((a) => `${a.output}: ${a.failures} elements beyond their bound`).join('; ')}`, ok ? 'ok' : 'bad'),
  );
  ui.results.tBodies[0].prepend(tr);
}

ui.run.addEventListener('click', () =>
  void busy(ui.status, async () => {
    if (!source) throw new Error('pick a graph first');
    // Taken now: the user may pick another graph while this one runs.
    const { label } = source;
    const level = ui.level.value;
    const backend = ui.backend.value;
    const runs = Math.min(100, Math.max(1, Math.round(Number(ui.runs.value)) || 1));
    const graph = optimizedAt(level).graph;
    const result = await runGraph(graph, backend, runs, (t) => setStatus(ui.status, t));
    addResultRow(label, level, result);
    ui.timeline.innerHTML = timelineSvg(result.timeline, result.runMs);
    ui.timelineCaption.textContent = `${label} at ${level} on ${backend}: one observed run, ${result.runMs.toFixed(2)} ms`;
    setStatus(ui.status, `done: ${backend}, ${result.medianMs.toFixed(2)} ms per run (median of ${runs})`);
  }),
);

ui.confRun.addEventListener('click', () =>
  void busy(ui.confStatus, async () => {
    const backends = Array.from(ui.confBackends.querySelectorAll<HTMLInputElement>('input:checked'), (b) => b.value);
    if (backends.length === 0) throw new Error('pick at least one backend');
    const count = (el: HTMLInputElement, min: number) => Math.min(200, Math.max(min, Math.round(Number(el.value)) || min));
    ui.confSummary.replaceChildren();
    ui.agreement.replaceChildren();
    ui.confProgress.value = 0;
    const result = await runSuite({ backends, runs: count(ui.confRuns, 1), graphs: count(ui.confGraphs, 0), seed: Math.max(0, Math.round(Number(ui.confSeed.value)) || 0) }, (p) => {
      ui.confProgress.value = p.fraction;
      setStatus(ui.confStatus, `${p.backend}: ${p.property}${p.failures ? ` · ${p.failures} failing properties` : ''}`);
    });
    ui.confProgress.value = 1;
    showSuite(backends, result);
    const ok = result.reports.every((r) => r.ok);
    setStatus(ui.confStatus, ok ? `passed on ${backends.join(', ')} (seed ${result.reports[0].seed})` : 'FAILED: see the table', !ok);
  }),
);

function showSuite(backends: readonly string[], { reports, agreement }: Awaited<ReturnType<typeof runSuite>>): void {
  const head = document.createElement('tr');
  head.append(...['backend', 'cases passed', 'worst error / bound', 'seconds', 'failing properties'].map((t) => Object.assign(document.createElement('th'), { textContent: t })));
  ui.confSummary.append(head);
  for (const r of reports) {
    const tr = document.createElement('tr');
    tr.dataset.backend = r.backend;
    tr.dataset.ok = String(r.ok);
    const failing = r.properties.filter((p) => p.failure).map((p) => p.property);
    tr.append(cell(r.backend), cell(`${r.passed} / ${r.casesRun}`, r.ok ? 'ok' : 'bad'), cell(ratio(r.worstRatio), 'num'), cell((r.durationMs / 1000).toFixed(1), 'num'), cell(failing.join(', ') || 'none'));
    ui.confSummary.append(tr);
  }
  // The matrix: one row and one column per backend, each pair's worst ratio where they meet.
  const at = new Map(agreement.flatMap((c) => [[`${c.a}|${c.b}`, c], [`${c.b}|${c.a}`, c]] as const));
  const top = document.createElement('tr');
  top.append(document.createElement('th'), ...backends.map((b) => Object.assign(document.createElement('th'), { textContent: b })));
  ui.agreement.append(top);
  for (const a of backends) {
    const tr = document.createElement('tr');
    tr.append(Object.assign(document.createElement('th'), { textContent: a }));
    for (const b of backends) {
      const c = at.get(`${a}|${b}`);
      tr.append(a === b || !c ? cell('—') : cell(`${ratio(c.worstRatio)} (${c.cases} cases)`, c.worstRatio <= 1 ? 'ok' : 'bad'));
    }
    ui.agreement.append(tr);
  }
}

void pick(async () => ({ graph: exampleGraph(ui.example.value), label: ui.example.value })).then(() => {
  document.body.dataset.ready = 'true';
});
