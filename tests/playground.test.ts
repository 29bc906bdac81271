/**
 * The playground (playground/, `pnpm playground`) in real Chromium: its vite dev server on a free
 * port, the page loaded, the seed CNN run on cpu, workers and webgl with the results table saying
 * each agrees with the float64 reference, a graph file opened, and a screenshot whose graph
 * picture and results table are really painted (pixels read back from the PNG).
 */
import { graphToJson, isView, stringifyGraphJson } from '@tessera/core';
import { seedCnn } from '@tessera/examples';
import { exportOnnx } from '@tessera/onnx';
import { optimize } from '@tessera/passes';
import { chromium, type Browser, type Page } from 'playwright';
import { PNG } from 'pngjs';
import { fileURLToPath } from 'node:url';
import { createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { CHROMIUM_ARGS, chromiumHint, findChromium } from '../scripts/ensure-chromium.mjs';

const root = fileURLToPath(new URL('../playground', import.meta.url));
let server: ViteDevServer | undefined;
let browser: Browser | undefined;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  const executablePath: string | null = findChromium();
  if (!executablePath) throw new Error(chromiumHint());
  // The playground's own config (source condition, COOP / COEP headers); no HMR, no file watching.
  server = await createServer({
    root,
    configFile: `${root}/vite.config.ts`,
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false, watch: null },
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('the playground server did not report its address');
  browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Chooses a backend, clicks Run, and waits for that backend's new row in the results table. */
async function runOn(backend: string): Promise<{ agrees: string | null; text: string }> {
  const before = await page.locator(`#results tbody tr[data-backend="${backend}"]`).count();
  await page.selectOption('#backend', backend);
  await page.click('#run');
  await page.waitForFunction(
    ([b, n]) => document.querySelectorAll(`#results tbody tr[data-backend="${b}"]`).length > n || document.getElementById('status')!.classList.contains('error'),
    [backend, before] as const,
    { timeout: 45_000 },
  );
  const status = page.locator('#status');
  expect(await status.evaluate((e) => e.classList.contains('error')), (await status.textContent()) ?? '').toBe(false);
  const row = page.locator(`#results tbody tr[data-backend="${backend}"]`).first();
  return { agrees: await row.getAttribute('data-agrees'), text: (await row.textContent()) ?? '' };
}

/** Pixels of a screenshot region that differ from the background color by more than a little. */
function paintedFraction(png: PNG, box: { x: number; y: number; width: number; height: number }, background: [number, number, number]): number {
  let painted = 0;
  let total = 0;
  for (let y = Math.floor(box.y); y < Math.min(png.height, box.y + box.height); y++) {
    for (let x = Math.floor(box.x); x < Math.min(png.width, box.x + box.width); x++) {
      const i = (y * png.width + x) * 4;
      const d = Math.abs(png.data[i] - background[0]) + Math.abs(png.data[i + 1] - background[1]) + Math.abs(png.data[i + 2] - background[2]);
      total++;
      if (d > 24) painted++;
    }
  }
  return painted / Math.max(1, total);
}

/** Pixels of a region close to a color (anti-aliased text and borders blend, so "close"). */
function pixelsNear(png: PNG, box: { x: number; y: number; width: number; height: number }, [r, g, b]: [number, number, number], tolerance = 40): number {
  let n = 0;
  for (let y = Math.floor(box.y); y < Math.min(png.height, box.y + box.height); y++) {
    for (let x = Math.floor(box.x); x < Math.min(png.width, box.x + box.width); x++) {
      const i = (y * png.width + x) * 4;
      if (Math.abs(png.data[i] - r) + Math.abs(png.data[i + 1] - g) + Math.abs(png.data[i + 2] - b) <= tolerance) n++;
    }
  }
  return n;
}

const hex = (c: string): [number, number, number] => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) as [number, number, number];

describe('the playground in Chromium', () => {
  it('shows the seed CNN before and after O1, its boxes the graphs\' nodes and the fused ones marked', async () => {
    const after = optimize(seedCnn(), { level: 'O1' }).graph;
    const fused = await page.$$eval('#picture g.panel[data-panel="after"] g.node.fused', (gs) => gs.map((g) => g.getAttribute('data-node')).sort());
    expect(fused).toEqual(after.nodes.filter((n) => n.op.startsWith('fused_')).map((n) => n.name).sort());
    const boxes = await page.$$eval('#picture g.panel[data-panel="before"] g.node', (gs) => gs.map((g) => g.getAttribute('data-node')).sort());
    expect(boxes).toEqual(['x', ...seedCnn().nodes.map((n) => n.name)].sort());
  });

  it('runs the seed CNN on cpu, workers and webgl; the results table shows each agreeing with the reference, the timeline its nodes', async () => {
    for (const backend of ['cpu', 'workers', 'webgl']) {
      const { agrees, text } = await runOn(backend);
      expect(agrees, text).toBe('true');
      expect(text).toMatch(/agrees/);
      expect(text).toMatch(/\d+\.\d+ \(5 runs\)/);
      // The timeline of the latest run: a bar per node of the graph (seed CNN at O1) that runs a
      // kernel; a view (reshape) may run none and then has no bar.
      const spans = new Set(await page.$$eval('#timeline g.span', (gs) => gs.map((g) => g.getAttribute('data-node')!)));
      const nodes = optimize(seedCnn(), { level: 'O1' }).graph.nodes;
      expect([...spans].filter((s) => !nodes.some((n) => n.name === s))).toEqual([]);
      for (const n of nodes.filter((n) => !isView(n.op))) expect(spans.has(n.name), `${backend}: ${n.name}`).toBe(true);
    }
    expect(pageErrors).toEqual([]);
  });

  it('a screenshot shows the graph picture (fused boxes in their color) and the results table (green agreement text)', async () => {
    const png = PNG.sync.read(await page.screenshot({ fullPage: true }));
    const picture = (await page.locator('#picture').boundingBox())!;
    const table = (await page.locator('#results').boundingBox())!;
    expect(picture.width).toBeGreaterThan(300);
    expect(picture.height).toBeGreaterThan(300);
    // Boxes, text and arrows: several percent of the picture's area is not background.
    expect(paintedFraction(png, picture, [255, 255, 255])).toBeGreaterThan(0.03);
    // The fused boxes' fill (two boxes of ~190 x 55 px at least) is painted.
    expect(pixelsNear(png, picture, hex('#ffe9c7'), 12)).toBeGreaterThan(2 * 150 * 40);
    // Three data rows below the header, their agreement text in green.
    expect(table.height).toBeGreaterThan(4 * 18);
    expect(paintedFraction(png, table, [255, 255, 255])).toBeGreaterThan(0.02);
    expect(pixelsNear(png, table, hex('#1e8a4c'))).toBeGreaterThan(300);
  });

  it('runs the conformance suite live: the progress bar climbs to 1, a report per backend, the agreement matrix of every pair', async () => {
    await page.fill('#conformance-runs', '1');
    await page.fill('#conformance-graphs', '1');
    // Samples the progress bar while the suite runs (the page's own timer, so no sample is missed between test calls).
    await page.evaluate(() => {
      const w = window as unknown as { progressSeen: number[] };
      w.progressSeen = [];
      const bar = document.getElementById('conformance-progress') as HTMLProgressElement;
      const timer = setInterval(() => {
        if (w.progressSeen.at(-1) !== bar.value) w.progressSeen.push(bar.value);
        if (bar.value === 1) clearInterval(timer);
      }, 20);
    });
    await page.click('#conformance-run');
    await page.waitForFunction(() => /passed on|FAILED/.test(document.getElementById('conformance-status')!.textContent ?? ''), undefined, { timeout: 60_000 });
    expect(await page.textContent('#conformance-status')).toMatch(/^passed on cpu, workers, webgl/);
    const seen = await page.evaluate(() => (window as unknown as { progressSeen: number[] }).progressSeen);
    expect(seen.at(-1)).toBe(1);
    expect(seen.filter((v) => v > 0 && v < 1).length).toBeGreaterThan(2);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]);
    const rows = await page.$$eval('#conformance-summary tr[data-backend]', (trs) => trs.map((tr) => [tr.getAttribute('data-backend'), tr.getAttribute('data-ok')]));
    expect(rows).toEqual([
      ['cpu', 'true'],
      ['workers', 'true'],
      ['webgl', 'true'],
    ]);
    // 3 x 3 matrix with a header row and column: the 6 off-diagonal cells each name a ratio within 1 and a case count.
    const cells = await page.$$eval('#agreement td', (tds) => tds.map((td) => td.textContent ?? ''));
    const pairs = cells.filter((c) => c !== '—');
    expect(pairs).toHaveLength(6);
    for (const c of pairs) {
      const m = /^([\d.e+-]+) \((\d+) cases\)$/.exec(c);
      expect(m, c).not.toBeNull();
      expect(Number(m![1])).toBeLessThanOrEqual(1);
      expect(Number(m![2])).toBeGreaterThan(0);
    }
  });

  it('opens a graph file (JSON, ONNX) and draws it; a broken ONNX file gets a clear message', async () => {
    const json = stringifyGraphJson(graphToJson(seedCnn({ batch: 2 })).json);
    await page.setInputFiles('#file', { name: 'seed2.json', mimeType: 'application/json', buffer: Buffer.from(json) });
    await page.waitForFunction(() => document.getElementById('status')!.textContent!.startsWith('seed2.json'), undefined, { timeout: 20_000 });
    const shapes = await page.$$eval('#picture g.panel[data-panel="before"] g.node[data-node="x"] text', (ts) => ts.map((t) => t.textContent));
    expect(shapes).toContain('2×28×28×1');
    await page.setInputFiles('#file', { name: 'seed3.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(exportOnnx(seedCnn({ batch: 3 }))) });
    await page.waitForFunction(() => document.getElementById('status')!.textContent!.startsWith('seed3'), undefined, { timeout: 20_000 });
    // The model's NCHW interface: its input is 3x1x28x28.
    const onnxShapes = await page.$$eval('#picture g.panel[data-panel="before"] g.node[data-node="x"] text', (ts) => ts.map((t) => t.textContent));
    expect(onnxShapes).toContain('3×1×28×28');
    await page.setInputFiles('#file', { name: 'model.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from([8, 7]) });
    await page.waitForFunction(() => document.getElementById('status')!.classList.contains('error'), undefined, { timeout: 20_000 });
    expect(await page.textContent('#status')).toMatch(/model\.onnx/);
  });
});
