import { RemoteBackend } from '@tessera/browser';
import { evaluate, GraphBuilder, randomTensor, type Feeds, type Graph } from '@tessera/core';
import { createContainer, createSession, registerBackend, type Session } from '@tessera/runtime';
import type { Page } from 'playwright';
import { afterAll, describe, expect, it } from 'vitest';
import { CHUNK_BYTES, weightBytes } from '../packages/browser/src/graph-upload.js';
import { launchPage } from '../packages/browser/src/launcher.js';
import { PageLink } from '../packages/browser/src/page-link.js';

/** Node-side sessions on the page's webgl backend with graphs too large to cross in one message (in `pnpm test:heavy`: 30-50 s with a browser of its own). */

/** Three matmuls whose weights take 104 MiB (ResNet-50 has 98 MiB). */
function heavy(): Graph {
  const g = new GraphBuilder('heavy');
  let h = g.input('x', [2, 4096]);
  for (const [i, [k, n]] of [[4096, 4096], [4096, 2048], [2048, 1024]].entries()) h = g.matmul(h, g.constant(`w${i}`, randomTensor([k, n], 11 + i, 1 / Math.sqrt(k))));
  return g.build({ y: h });
}

function feedsOf(graph: Graph, seed: number): Feeds {
  return Object.fromEntries(graph.inputs.map((v, i) => [v.name, randomTensor(v.shape, seed + i).data]));
}

/** Close to float64 `expected`, within the backends' per-element bound for these sizes. */
function expectClose(actual: Float32Array, expected: Float64Array): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(1e-3 * (1 + Math.abs(expected[i])));
}

describe('webgl from Node, large graphs and a lost page', () => {
  /** The pages the backend started, latest last, each with the weight chunks it fetched. */
  const pages: { page: Page; chunks: number }[] = [];
  const remote = new RemoteBackend('webgl', 'webgl', {
    launch: async () => {
      const browser = await launchPage();
      const started = { page: browser.page, chunks: 0 };
      browser.page.on('request', (r) => void (r.url().includes('/__tessera/weights/') && started.chunks++));
      pages.push(started);
      return browser;
    },
  });
  const container = createContainer();
  registerBackend(container, 'webgl', () => remote);
  afterAll(() => remote.dispose());

  it('compiles and runs a graph with over 100 MiB of weights, sent once, and the page holds nothing after dispose', async () => {
    const graph = heavy();
    expect(weightBytes(graph)).toBeGreaterThanOrEqual(100 * 2 ** 20);
    expect(weightBytes(graph)).toBeGreaterThan(10 * CHUNK_BYTES);
    const session = await createSession(graph, { backend: 'webgl', container });
    expect(await remote.held()).toEqual({ planned: 0, executables: 1 }); // compile took the planned graph
    expect(pages.at(-1)!.chunks).toBe(Math.ceil(weightBytes(graph) / CHUNK_BYTES)); // plan sent the weights, compile did not
    const feeds = feedsOf(graph, 3);
    expectClose((await session.run(feeds)).y, evaluate(graph, feeds).y.value);
    session.dispose();
    await expect.poll(() => remote.held()).toEqual({ planned: 0, executables: 0 });
  }, 120_000);

  it('a crashed page makes run reject, naming the backend; the next session starts a new browser', async () => {
    const g = new GraphBuilder('small');
    const graph = g.build({ y: g.relu(g.input('x', [4])) });
    const session: Session = await createSession(graph, { backend: 'webgl', container });
    const { page } = pages.at(-1)!;
    const cdp = await page.context().newCDPSession(page);
    void cdp.send('Page.crash').catch(() => undefined); // answers never: the page is gone
    await expect(session.run({ x: new Float32Array([1, -2, 3, -4]) })).rejects.toThrow(/backend 'webgl': the browser page (crashed|is gone).*while running/);
    await expect(session.run({ x: new Float32Array(4) })).rejects.toThrow(/backend 'webgl'/);
    await expect.poll(() => page.context().browser()?.isConnected()).toBe(false); // closed: it would keep Node alive
    session.dispose();
    const again = await createSession(graph, { backend: 'webgl', container });
    expect(pages.at(-1)!.page).not.toBe(page);
    expect(Array.from((await again.run({ x: new Float32Array([1, -2, 3, -4]) })).y)).toEqual([1, 0, 3, 0]);
    again.dispose();
  }, 120_000);

  it('a page without its own server gets the weights through intercepted requests', async () => {
    let fetched = 0;
    const routed = new RemoteBackend('webgl', 'webgl', {
      launch: async () => {
        const { serve, ...browser } = await launchPage();
        expect(serve).toBeDefined();
        browser.page.on('request', (r) => void (r.url().includes('/__tessera/weights/') && fetched++));
        return browser;
      },
    });
    try {
      const g = new GraphBuilder('two-chunks');
      const graph = g.build({ y: g.matmul(g.input('x', [3, 1536]), g.constant('w', randomTensor([1536, 1024], 5, 0.03))) }); // 6 MiB
      expect(weightBytes(graph)).toBeGreaterThan(CHUNK_BYTES);
      const exe = await routed.compile(graph, await routed.plan(graph, {}));
      expect(fetched).toBe(2);
      const feeds = feedsOf(graph, 9);
      expectClose((await exe.run(feeds)).y, evaluate(graph, feeds).y.value);
      exe.dispose();
    } finally {
      await routed.dispose();
    }
  }, 120_000);

  it('a call pending when the page crashes rejects at once, and the link closes the browser', async () => {
    let lost = 0;
    const link = new PageLink('webgl', await launchPage(), () => lost++);
    const { page } = link;
    const pending = link.call('waiting forever', () => new Promise<never>(() => {}), undefined);
    const cdp = await page.context().newCDPSession(page);
    void cdp.send('Page.crash').catch(() => undefined);
    await expect(pending).rejects.toThrow(/^backend 'webgl': the browser page (crashed|is gone).*, while waiting forever;/);
    expect(lost).toBe(1);
    await expect.poll(() => page.context().browser()?.isConnected()).toBe(false);
    await expect(link.call('running', () => 1, undefined)).rejects.toThrow(/backend 'webgl'.*while running/);
  }, 60_000);
});
