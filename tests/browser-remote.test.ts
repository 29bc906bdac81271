import { CpuBackend } from '@tessera/backend-cpu';
import { RemoteBackend, registerBrowserBackends } from '@tessera/browser';
import { evaluate, GraphBuilder, randomTensor, type Feeds, type Graph } from '@tessera/core';
import { seedCnn } from '@tessera/examples';
import { createContainer, createSession, disposeBackends, getBackend, planExecution, registerBackend } from '@tessera/runtime';
import type { Page } from 'playwright';
import { afterAll, describe, expect, it } from 'vitest';
import { launchPage } from '../packages/browser/src/launcher.js';

/** Node-side sessions on backends that live in a headless Chromium (RemoteBackend). */

function feedsOf(graph: Graph, seed: number): Feeds {
  return Object.fromEntries(graph.inputs.map((v, i) => [v.name, randomTensor(v.shape, seed + i).data]));
}

function expectClose(actual: Float32Array, expected: Float64Array): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThanOrEqual(1e-3 * (1 + Math.abs(expected[i])));
}

/** Three matmuls (a plan with buffer reuse), then a slice to refuse. */
function chain(withSlice: boolean): Graph {
  const g = new GraphBuilder(withSlice ? 'chain-slice' : 'chain');
  const w = g.constant('w', randomTensor([8, 8], 7, 0.5));
  const r = g.matmul(g.matmul(g.matmul(g.input('x', [12, 8]), w), w), w);
  return g.build({ y: withSlice ? g.slice(r, { begin: [1, 0], size: [4, 8], strides: [1, 1] }) : r });
}

/**
 * Makes the page's webgl backend lack slice, and plan without any buffer reuse (every step
 * together), through the page's own runtime module.
 */
async function patchPageWebgl(page: Page): Promise<void> {
  // A string, so that vitest's transform does not rewrite the dynamic import into a Node helper.
  await page.evaluate(`(async () => {
    const url = performance.getEntriesByType('resource').map((e) => e.name).find((n) => n.includes('/runtime/src/index.ts'));
    const runtime = await import(url);
    const b = runtime.getBackend(runtime.defaultContainer, 'webgl');
    b.hasKernel = (op) => op !== 'slice';
    b.plan = async (graph, options) => runtime.planExecution(graph, { ...options, together: [[0, graph.nodes.length - 1]] });
  })()`);
}

describe('remote backends (the page in headless Chromium)', () => {
  const disposals: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const d of disposals) await d();
  });

  it('runs a graph on browser-cpu, with the page backend\'s kernels known after the page starts', async () => {
    const container = createContainer();
    registerBrowserBackends(container);
    const graph = seedCnn({ batch: 2 });
    const session = await createSession(graph, { backend: 'browser-cpu', container });
    disposals.push(async () => {
      session.dispose();
      await disposeBackends(container);
    });
    const feeds = feedsOf(graph, 5);
    const out = await session.run(feeds);
    const ref = evaluate(graph, feeds);
    for (const name of Object.keys(graph.outputs)) expectClose(out[name], ref[name].value);
    // The page's cpu backend plans (its item runs keep the conv -> maxpool run's values apart).
    expect(session.stats.peakBytes).toBe((await new CpuBackend().plan(graph, {})).arenaSize * 4);
    const remote = getBackend(container, 'browser-cpu');
    expect(remote.hasKernel('conv2d')).toBe(true);
    expect(remote.hasKernel('no_such_op')).toBe(false);
  });

  it('browser-cpu and browser-workers report what the page\'s executable reports: its Winograd convs (whose bounds conformance widens), its epilogues, its GEMM path', async () => {
    const container = createContainer();
    registerBrowserBackends(container);
    disposals.push(() => disposeBackends(container));
    const g = new GraphBuilder('winograd-conv');
    const conv = g.conv2d(g.input('x', [1, 14, 14, 32]), g.constant('w', randomTensor([3, 3, 32, 32], 1, 0.1)), { strides: [1, 1], padding: 'SAME', name: 'conv' });
    const graph = g.build({ y: g.relu(g.biasAdd(conv, g.constant('b', randomTensor([32], 2, 0.1)), { name: 'bias' }), { name: 'relu' }) });
    for (const backend of ['browser-cpu', 'browser-workers']) {
      const session = await createSession(graph, { backend, container });
      try {
        expect(new Map(session.stats.algorithms), backend).toEqual(new Map([['conv', 'winograd-f4x4']]));
        expect(new Map(session.stats.epilogues), backend).toEqual(new Map([['bias', 'conv'], ['relu', 'conv']]));
        expect(session.stats.kernels, backend).toBe('wasm-simd');
      } finally {
        session.dispose();
      }
    }
  });

  it('a profiled session on browser-cpu and webgl gets every node\'s time from the page, within its run, in the order the page ran them', async () => {
    const container = createContainer();
    registerBrowserBackends(container);
    disposals.push(() => disposeBackends(container));
    const graph = seedCnn({ batch: 2 });
    for (const backend of ['browser-cpu', 'webgl']) {
      const session = await createSession(graph, { backend, container, profile: true });
      try {
        await session.run(feedsOf(graph, 3));
        const events = session.trace().traceEvents;
        const run = events.find((e) => e.cat === 'run')!;
        const nodes = events.filter((e) => e.cat !== 'run');
        // Every node has its span, inside the run's (the reshape, a view, only where the backend runs it: webgl).
        const kernels = graph.nodes.filter((n) => n.op !== 'reshape').map((n) => n.name);
        expect(nodes.map((e) => e.name).filter((name) => name !== 'flatten'), backend).toEqual(kernels);
        for (const [k, e] of nodes.entries()) {
          expect(e.dur, `${backend} ${e.name}`).toBeGreaterThanOrEqual(0);
          expect(e.ts, `${backend} ${e.name}`).toBeGreaterThanOrEqual(run.ts);
          expect(e.ts + e.dur, `${backend} ${e.name}`).toBeLessThanOrEqual(run.ts + run.dur + 1);
          if (k > 0) expect(e.ts, `${backend} ${e.name}`).toBeGreaterThanOrEqual(nodes[k - 1].ts);
        }
        // The convolution is most of the work: not a span of zero.
        expect(nodes.find((e) => e.name === 'conv1')!.dur, backend).toBeGreaterThan(0);
      } finally {
        session.dispose();
      }
    }
  });

  it('refuses at createSession an op the page lacks, and reports the page backend\'s plan in stats', async () => {
    const remote = new RemoteBackend('webgl', 'webgl', {
      launch: async () => {
        const p = await launchPage();
        await patchPageWebgl(p.page);
        return p;
      },
    });
    disposals.push(() => remote.dispose());
    const container = createContainer();
    registerBackend(container, 'webgl', () => remote);
    const refused = createSession(chain(true), { backend: 'webgl', container });
    await expect(refused).rejects.toThrow(/node '.*' \(slice\): backend 'webgl' has no kernel for op 'slice'/);
    expect(remote.hasKernel('slice')).toBe(false);
    expect(remote.hasKernel('relu')).toBe(true);

    const graph = chain(false);
    const session = await createSession(graph, { backend: 'webgl', container });
    const local = planExecution(graph);
    expect(local.arenaSize).toBeLessThan(local.noReuseSize);
    // The page planned without reuse: the session reports that plan, not one made in Node.
    expect(session.stats.peakBytes).toBe(session.stats.noReuseBytes);
    expect(session.plan.options.together).toEqual([[0, graph.nodes.length - 1]]);
    const feeds = feedsOf(graph, 2);
    expectClose((await session.run(feeds)).y, evaluate(graph, feeds).y.value);
    session.dispose();
  });

  it('compile forwards a plan made elsewhere to the page', async () => {
    const container = createContainer();
    registerBrowserBackends(container);
    const remote = getBackend(container, 'webgl');
    disposals.push(() => disposeBackends(container));
    const graph = chain(true);
    const exe = await remote.compile(graph, planExecution(graph));
    const feeds = feedsOf(graph, 3);
    expectClose((await exe.run(feeds)).y, evaluate(graph, feeds).y.value);
    expect(await (remote as RemoteBackend).held()).toEqual({ planned: 0, executables: 1 });
    exe.dispose();
    await expect.poll(() => (remote as RemoteBackend).held()).toEqual({ planned: 0, executables: 0 });
  });
});
