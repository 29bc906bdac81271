/**
 * Sessions release what they hold: after dispose, cpu and workers sessions leave no executable,
 * loaded program, worker or handle behind; workers session cycles keep the process's memory
 * flat; an observed session keeps a bounded trace; a graph too large for memory is refused with
 * its sizes before anything is allocated; the remote backend's page drops a plan no compile took.
 */
import { CpuBackend } from '@tessera/backend-cpu';
import { createWorkersBackend, type WorkersBackend } from '@tessera/backend-workers';
import { GraphBuilder, TesseraError, type Graph } from '@tessera/core';
import { seedCnn } from '@tessera/examples';
import { createContainer, createSession, registerBackend, type ExecEvent } from '@tessera/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PageApi } from '../packages/browser/src/page-api.js';
import { RemoteBackend } from '../packages/browser/src/remote-backend.js';
import { countResources, expectBaseline, rssMiB, track } from './helpers/leaks.js';

const container = createContainer();
let workers: WorkersBackend;
const graph = seedCnn({ batch: 8 });
const x = new Float32Array(8 * 28 * 28);

beforeAll(async () => {
  registerBackend(container, 'cpu', () => new CpuBackend());
  registerBackend(container, 'cpu-js', () => new CpuBackend({ gemm: 'js' }));
  workers = createWorkersBackend({ threads: 2 });
  registerBackend(container, 'workers', () => workers);
  await workers.ready();
});

afterAll(() => workers.dispose());

async function cycle(backend: string): Promise<void> {
  const session = track(await createSession(graph, { backend, container }));
  await session.run({ x });
  session.dispose();
}

describe('leaks', () => {
  it('cpu and workers sessions return every count to its baseline after dispose', async () => {
    const baseline = await countResources([workers]);
    const sessions = await Promise.all(['cpu', 'workers', 'workers', 'cpu-js'].map((backend) => createSession(graph, { backend, container }).then(track)));
    const during = await countResources([workers]);
    expect(during.cpuExecutables - baseline.cpuExecutables).toBe(2);
    expect(during.loadedPrograms - baseline.loadedPrograms).toBe(2);
    for (const s of sessions) await s.run({ x });
    for (const s of sessions) s.dispose();
    await expectBaseline(baseline, [workers]);
    expect(workers.testHooks.cachedMemories()).toBeLessThanOrEqual(4);
  });

  it('60 workers session cycles keep RSS flat (each kept ~2 MiB of shared memory before)', async () => {
    for (let i = 0; i < 10; i++) await cycle('workers');
    const before = rssMiB();
    for (let i = 0; i < 60; i++) await cycle('workers');
    // 60 leaked memories were ~140 MiB; allocator noise is a few MiB.
    expect(rssMiB() - before).toBeLessThan(40);
  });

  it('an observed session keeps the events of its latest traceRuns runs only', async () => {
    const runsIn = (s: { trace(): { traceEvents: { cat: string }[] } }) => s.trace().traceEvents.filter((e) => e.cat === 'run').length;
    for (const [traceRuns, expected] of [[undefined, 100], [7, 7], [0, 0]] as const) {
      const session = track(await createSession(graph, { backend: 'cpu', container, traceRuns }));
      const seen: ExecEvent[] = [];
      const sub = session.events$.subscribe((e) => seen.length < 10 && seen.push(e));
      for (let i = 0; i < 130; i++) await session.run({ x });
      sub.unsubscribe();
      expect(runsIn(session)).toBe(expected);
      expect(seen[0].type).toBe('run-start');
      session.dispose();
    }
    await expect(createSession(graph, { backend: 'cpu', container, traceRuns: -1 })).rejects.toThrow(/traceRuns/);
  });
});

/**
 * Three inputs of 46000 x 46000 floats (a value may hold up to 2^31 - 1), all live at the
 * start of a run: an arena above the longest Float32Array. Never run, never allocated.
 */
function huge(): Graph {
  const g = new GraphBuilder('huge');
  const outputs = Object.fromEntries(['a', 'b', 'c'].map((name) => [name, g.relu(g.input(name, [1, 46_000, 46_000, 1]), { name: `${name}/relu` })]));
  return g.build(outputs);
}

describe('memory limits and kernels', () => {
  it.each(['cpu', 'workers'])('%s refuses a graph whose arena no typed array holds, with the sizes, before allocating', async (backend) => {
    const before = rssMiB();
    const attempt = createSession(huge(), { backend, container });
    await expect(attempt).rejects.toBeInstanceOf(TesseraError);
    await expect(attempt).rejects.toThrow(new RegExp(`graph 'huge' on backend '${backend}' needs \\d+ bytes \\(\\d+\\.\\d MiB\\) of arena, the limit is 17179869184 bytes`));
    expect(rssMiB() - before).toBeLessThan(100);
  });

  it('stats.kernels says which GEMM the session runs, and why when it is not the fastest', async () => {
    const wasm = track(await createSession(graph, { backend: 'workers', container }));
    expect(wasm.stats).toMatchObject({ kernels: 'wasm-simd', kernelsReason: undefined });
    const js = track(await createSession(graph, { backend: 'cpu-js', container }));
    expect(js.stats).toMatchObject({ kernels: 'js', kernelsReason: "the backend was created with gemm: 'js'" });
    wasm.dispose();
    js.dispose();
  });
});

describe('remote backend', () => {
  /** A page stand-in: `evaluate` runs the function here, against a recording PageApi. */
  function fakePage(): { backend: RemoteBackend; calls: string[] } {
    const calls: string[] = [];
    let id = 0;
    const api: Partial<PageApi> = {
      kernels: () => ['relu'],
      plan: async () => ({ id: ++id, plan: { steps: ['act'], views: [], arenaSize: 4, noReuseSize: 4, buffers: [{ id: 0, offset: 0, size: 4 }], options: {}, locations: [['x', 0], ['act', 0]] } as never }),
      compile: async (source) => (calls.push(`compile ${typeof source === 'number' ? source : 'sent'}`), { id: ++id, algorithms: [], epilogues: [] }),
      dispose: (i) => void calls.push(`dispose ${i}`),
    };
    (globalThis as { tessera?: unknown }).tessera = api;
    const page = { evaluate: async (fn: (a: unknown) => unknown, arg: unknown) => fn(arg) };
    const backend = new RemoteBackend('remote', 'cpu', { launch: async () => ({ page: page as never, url: '', close: async () => {} }), planTimeoutMs: 30 });
    return { backend, calls };
  }

  it('a plan that no compile takes is released on the page; a late compile sends the graph', async () => {
    const g = new GraphBuilder('tiny');
    const tiny = g.build({ y: g.relu(g.input('x', [4]), { name: 'act' }) });
    const { backend, calls } = fakePage();
    const prompt = await backend.plan(tiny, {});
    await backend.compile(tiny, prompt);
    const late = await backend.plan(tiny, {});
    await new Promise((r) => setTimeout(r, 100));
    await backend.compile(tiny, late);
    expect(calls).toEqual(['compile 1', 'dispose 3', 'compile sent']);
    await backend.dispose();
  });
});
