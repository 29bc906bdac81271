/**
 * The workers backend in headless Chromium: module Web Workers over SharedArrayBuffer in the
 * cross-origin-isolated test page. Same results as the cpu backend, bit for bit; conformance on a
 * smaller count than in Node; dispose leaves no worker alive.
 */
import '@tessera/backend-cpu';
import { createWorkersBackend, liveWorkerCount, registerWorkersBackend, type WorkersBackend } from '@tessera/backend-workers';
import { GRAPHS_PROPERTY, runConformanceToReport } from '@tessera/conformance';
import { evaluate, randomTensor } from '@tessera/core';
import { seedCnn, workload, workloadGraph } from '@tessera/examples';
import { createContainer, createSession, disposeBackends, getBackend, registerBackend } from '@tessera/runtime';
import { describe, expect, it } from 'vitest';

const EAGER = { inlineCost: 64, minPartCost: 32, inlineGraphCost: 0 } as const;

describe('workers backend in the browser', () => {
  it('defaults to navigator.hardwareConcurrency - 1 workers (the page thread computes a share) and matches the cpu backend bit for bit', async () => {
    const before = liveWorkerCount();
    const backend = createWorkersBackend(EAGER);
    const c = createContainer();
    registerBackend(c, 'workers', () => backend);
    try {
      expect(await backend.ready()).toBe(Math.max(1, navigator.hardwareConcurrency - 1));
      // The cross-origin-isolated page has shared WebAssembly.Memory: the wasm SIMD GEMM path.
      expect(backend.gemmPath).toBe('wasm-simd');
      for (const graph of [seedCnn({ batch: 2 }), workloadGraph(workload('W5b'))]) {
        const feeds = { x: randomTensor(graph.inputs[0].shape, 5).data };
        const expected = Object.values(await (await createSession(graph)).run(feeds))[0];
        const session = await createSession(graph, { backend: 'workers', container: c });
        const actual = Object.values(await session.run(feeds))[0];
        expect((session as unknown as { executable: { gemmPath: string } }).executable.gemmPath).toBe('wasm-simd');
        let mismatches = 0;
        for (let i = 0; i < actual.length; i++) if (!Object.is(actual[i], expected[i])) mismatches++;
        expect(mismatches, graph.name).toBe(0);
        const ref = Object.values(evaluate(graph, feeds))[0];
        for (let i = 0; i < actual.length; i++) expect(Math.abs(actual[i] - ref.value[i])).toBeLessThanOrEqual(ref.bound[i]);
        session.dispose();
      }
      expect(await backend.testHooks.dispatchedSteps()).toBeGreaterThan(0);
    } finally {
      await backend.dispose();
    }
    expect(liveWorkerCount()).toBe(before);
  });

  it('a worker that throws fails the run naming node and worker; the next run works', async () => {
    const backend = createWorkersBackend({ threads: 2, ...EAGER });
    const c = createContainer();
    registerBackend(c, 'w', () => backend);
    try {
      const graph = seedCnn({ batch: 2 });
      const feeds = { x: randomTensor(graph.inputs[0].shape, 9).data };
      const session = await createSession(graph, { backend: 'w', container: c });
      const expected = Object.values(await session.run(feeds))[0];
      await backend.testHooks.injectFault(1, 'conv1', 'throw');
      await expect(session.run(feeds)).rejects.toThrow(/node 'conv1' \(conv2d\).*worker 1 \(thread \d+\) threw: injected fault/);
      const again = Object.values(await session.run(feeds))[0];
      expect(again.every((v, i) => Object.is(v, expected[i]))).toBe(true);
    } finally {
      await backend.dispose();
    }
  });

  it('refuses to start on a page that is not cross-origin isolated, naming the headers', () => {
    const own = Object.getOwnPropertyDescriptor(window, 'crossOriginIsolated');
    Object.defineProperty(window, 'crossOriginIsolated', { value: false, configurable: true });
    try {
      expect(() => createWorkersBackend()).toThrow(/Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp/);
    } finally {
      if (own) Object.defineProperty(window, 'crossOriginIsolated', own);
      else delete (window as { crossOriginIsolated?: boolean }).crossOriginIsolated;
    }
    expect(globalThis.crossOriginIsolated).toBe(true);
  });

  it('passes the conformance suite (a smaller count than in Node)', async () => {
    const c = createContainer();
    registerWorkersBackend(c, { threads: 2, ...EAGER });
    try {
      const report = await runConformanceToReport({ backend: 'workers', container: c, seed: 20_240_611, runs: 15, graphs: 15 });
      const failed = report.properties.filter((p) => p.failure);
      expect(failed.map((p) => `${p.property}: ${p.failure!.message}`)).toEqual([]);
      expect(report.properties.map((p) => p.property)).toContain(GRAPHS_PROPERTY);
      expect(await (getBackend(c, 'workers') as WorkersBackend).testHooks.dispatchedSteps()).toBeGreaterThan(50);
    } finally {
      await disposeBackends(c);
    }
  });
});
