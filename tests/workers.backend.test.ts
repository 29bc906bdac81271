/**
 * The workers backend: same results as the cpu backend (bit for bit, whatever the number of
 * workers) and within the float64 reference's bounds; a worker that exits, throws or hangs fails
 * the run with an error naming the node and the worker, and the next run works; dispose leaves
 * no worker alive; sessions sharing one pool run concurrently.
 */
import '@tessera/backend-cpu';
import { createWorkersBackend, liveWorkerCount, registerWorkersBackend, workersGemmPath, type WorkersBackend } from '@tessera/backend-workers';
import { evaluate, GraphBuilder, randomTensor, type Graph } from '@tessera/core';
import { seedCnn, workload, workloadGraph } from '@tessera/examples';
import { backendNames, createContainer, createSession, defaultContainer, disposeBackends, getBackend, planExecution, registerBackend, type Session } from '@tessera/runtime';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectBitIdentical } from './helpers/bits.js';
import { mobilenetBlock } from './helpers/mobilenet-block.js';

/** Split every step worth a few hundred multiply-adds, so small graphs exercise the workers too. */
const EAGER = { inlineCost: 500, minPartCost: 200, inlineGraphCost: 0 } as const;


const container = createContainer();
const pools = new Map<number, WorkersBackend>();
let baseline = 0;

beforeAll(async () => {
  baseline = liveWorkerCount();
  for (const threads of [1, 2, 3]) {
    const backend = createWorkersBackend({ threads, ...EAGER });
    pools.set(threads, backend);
    registerBackend(container, `workers-${threads}`, () => backend);
  }
  // Two workers with the calling thread only waiting (mainShare: false): the other dispatch mode.
  const waiting = createWorkersBackend({ threads: 2, mainShare: false, ...EAGER });
  pools.set(-2, waiting);
  registerBackend(container, 'workers-2-wait', () => waiting);
  await Promise.all([...pools.values()].map((p) => p.ready()));
}, 120_000);

afterAll(async () => {
  await Promise.all([...pools.values()].map((p) => p.dispose()));
});

const GRAPHS: [string, () => Graph][] = [
  ['seed CNN, batch 1', () => seedCnn()],
  ['seed CNN, batch 3', () => seedCnn({ batch: 3, seed: 7 })],
  ['W3', () => workloadGraph(workload('W3'))],
  ['a batch-4 item-wise chain whose relu is also an output (kept whole) and whose first maxpool is not (kept per thread)', () => {
    const g = new GraphBuilder('chain');
    const c = g.conv2d(g.input('x', [4, 10, 10, 3]), g.constant('f', randomTensor([3, 3, 3, 8], 1)), { strides: [1, 1], padding: 'SAME' });
    const r = g.relu(g.biasAdd(c, g.constant('b', randomTensor([8], 2))));
    const p = g.maxpool(r, { ksize: [2, 2], strides: [2, 2], padding: 'VALID' });
    return g.build({ y: g.maxpool(p, { ksize: [2, 2], strides: [1, 1], padding: 'SAME' }), h: r });
  }],
  ['an MLP on 96 rows (one row-wise chain)', () => {
    const g = new GraphBuilder('mlp');
    const h = g.relu(g.biasAdd(g.matmul(g.input('x', [96, 40]), g.constant('w1', randomTensor([40, 72], 1))), g.constant('b1', randomTensor([72], 2))));
    return g.build({ y: g.biasAdd(g.matmul(h, g.constant('w2', randomTensor([72, 24], 3))), g.constant('b2', randomTensor([24], 4))) });
  }],
  ['a dense layer on one row, relu (its units are column blocks, split between threads)', () => {
    const g = new GraphBuilder('dense-row');
    const y = g.matmul(g.input('x', [1, 300]), g.constant('w', randomTensor([300, 1000], 1)));
    return g.build({ y: g.relu(g.biasAdd(y, g.constant('b', randomTensor([1000], 2)))) });
  }],
  // MobileNet v2 inverted-residual blocks: depthwise heading a row-wise chain to the residual add
  // (batch 1), one item-wise chain through the depthwise step (batch 3); channels not multiples of 4.
  ['MobileNet block, batch 1 (conv -> bn -> relu6 -> depthwise -> bn -> relu6 -> conv -> bn -> add)', () => mobilenetBlock({ batch: 1, size: 14, channels: 10, expansion: 6 })],
  ['MobileNet block, batch 3', () => mobilenetBlock({ batch: 3, size: 9, channels: 6, expansion: 3 })],
  ['MobileNet block as the fusion pass leaves it (fused_depthwise_conv2d with relu6), batch 2', () => mobilenetBlock({ batch: 2, size: 12, channels: 8, expansion: 6, fused: true })],
];

function first(outputs: Record<string, Float32Array>): Float32Array {
  return Object.values(outputs)[0];
}

function feedsFor(graph: Graph, seed: number): Record<string, Float32Array> {
  return Object.fromEntries(graph.inputs.map((v, i) => [v.name, randomTensor(v.shape, seed + i).data]));
}

describe('workers backend: results', () => {
  for (const [label, make] of GRAPHS) {
    it(`${label}: bit-identical to cpu with 1, 2 and 3 workers (plus the calling thread), 2 workers alone, and within the reference bounds`, async () => {
      const graph = make();
      const feeds = feedsFor(graph, 11);
      const cpu = await createSession(graph, { backend: 'cpu' });
      const expected = await cpu.run(feeds);
      const ref = evaluate(graph, feeds);
      for (const threads of ['1', '2', '3', '2-wait']) {
        const session = await createSession(graph, { backend: `workers-${threads}`, container });
        const actual = await session.run(feeds);
        for (const name of Object.keys(graph.outputs)) {
          expectBitIdentical(actual[name], expected[name]);
          const { value, bound } = ref[name];
          let worst = 0;
          for (let i = 0; i < value.length; i++) worst = Math.max(worst, Math.abs(actual[name][i] - value[i]) / bound[i]);
          expect(worst, `${label}, ${threads} workers, output ${name}`).toBeLessThanOrEqual(1);
        }
        // A second run with other feeds reuses the loaded program; its outputs go into the caller's buffers.
        const feeds2 = feedsFor(graph, 99);
        const buffers = Object.fromEntries(Object.entries(expected).map(([name, v]) => [name, new Float32Array(v.length)]));
        const into = await session.run(feeds2, { outputs: buffers });
        expect(first(into)).toBe(first(buffers));
        expectBitIdentical(first(buffers), first(await cpu.run(feeds2)));
        session.dispose();
      }
      cpu.dispose();
    });
  }

  it('bound IO (bindIO): inputs and outputs are views of the shared memory; an input written once serves several runs, bit-identical to cpu', async () => {
    for (const [label, make] of GRAPHS) {
      const graph = make();
      const cpu = await createSession(graph, { backend: 'cpu' });
      const session = await createSession(graph, { backend: 'workers-2', container, bindIO: true });
      const { inputs, outputs } = session.io;
      for (const seed of [21, 22]) {
        const feeds = feedsFor(graph, seed);
        for (const [name, data] of Object.entries(feeds)) inputs[name].set(data);
        const expected = await cpu.run(feeds);
        for (let run = 0; run < 2; run++) {
          const result = await session.run(inputs, { outputs });
          for (const name of Object.keys(graph.outputs)) {
            expect(result[name], label).toBe(outputs[name]);
            expectBitIdentical(outputs[name], expected[name]);
          }
        }
      }
      for (const array of [...Object.values(inputs), ...Object.values(outputs)]) expect(array.buffer, label).toBeInstanceOf(SharedArrayBuffer);
      session.dispose();
      cpu.dispose();
    }
  });

  it('runs the wasm SIMD GEMM on a shared WebAssembly.Memory in Node, and the JS fallback (gemm: js) gives the same bits', async () => {
    expect(workersGemmPath()).toBe('wasm-simd');
    expect(pools.get(2)!.gemmPath).toBe('wasm-simd');
    // The JS path takes Winograd only when forced: forced here, as W3's 3x3 conv runs it on the wasm path.
    const js = createWorkersBackend({ threads: 2, gemm: 'js', winograd: 'always', ...EAGER });
    const c = createContainer();
    registerBackend(c, 'js', () => js);
    try {
      expect(js.gemmPath).toBe('js');
      const graph = workloadGraph(workload('W3'));
      const feeds = feedsFor(graph, 17);
      const expected = first(await (await createSession(graph)).run(feeds));
      for (const [name, cont] of [['workers-2', container], ['js', c]] as const) {
        const session = await createSession(graph, { backend: name, container: cont });
        expect((session as unknown as { executable: { gemmPath: string } }).executable.gemmPath).toBe(name === 'js' ? 'js' : 'wasm-simd');
        expect([...session.stats.algorithms]).toEqual([['l1_conv2d', 'winograd-f4x4']]);
        expectBitIdentical(first(await session.run(feeds)), expected);
        session.dispose();
      }
    } finally {
      await js.dispose();
    }
  });

  it('runs graphs too small to split on the main thread, with the same results', async () => {
    const backend = pools.get(2)!;
    const c = createContainer();
    const small = createWorkersBackend({ threads: 1 }); // defaults: W1-b1 is below inlineGraphCost
    registerBackend(c, 'small', () => small);
    try {
      const graph = seedCnn();
      const feeds = feedsFor(graph, 3);
      const session = await createSession(graph, { backend: 'small', container: c });
      const cpu = await createSession(graph);
      expectBitIdentical(first(await session.run(feeds)), first(await cpu.run(feeds)));
      expect(backend.name).toBe('workers');
    } finally {
      await small.dispose();
    }
  });

  it('reports node events like the cpu backend', async () => {
    const graph = seedCnn();
    const session = await createSession(graph, { backend: 'workers-2', container, profile: true });
    await session.run(feedsFor(graph, 5));
    const nodes = session.trace().traceEvents.filter((e) => e.cat !== 'run').map((e) => e.name);
    expect(nodes).toEqual(graph.nodes.filter((n) => n.op !== 'reshape').map((n) => n.name));
  });

  it('profiled runs (dispatched step by step) and plain runs (dispatched whole) give the same bits', async () => {
    const graph = workloadGraph(workload('W3'));
    const feeds = feedsFor(graph, 9);
    const profiled = await createSession(graph, { backend: 'workers-2', container, profile: true });
    const plain = await createSession(graph, { backend: 'workers-2', container });
    const expected = first(await (await createSession(graph)).run(feeds));
    expectBitIdentical(first(await profiled.run(feeds)), expected);
    expectBitIdentical(first(await plain.run(feeds)), expected);
  });
});

describe('workers backend: the plan', () => {
  const arenaOf = (session: Session): number => (session as unknown as { executable: { arenaSize: number } }).executable.arenaSize;

  it("the session's plan is the one the executable runs: it keeps the chains apart, and stats report the executable's arena", async () => {
    let grown = 0;
    for (const [label, make] of GRAPHS) {
      const graph = make();
      const session = await createSession(graph, { backend: 'workers-2', container });
      expect(session.stats.peakBytes, label).toBe(4 * arenaOf(session));
      const spans = session.plan.options.together ?? [];
      // (W3's conv > bias_add > relu chains are epilogues now: its convs take them at compile.)
      if (/item-wise/.test(label)) expect(spans.length, label).toBeGreaterThan(0);
      if (session.plan.arenaSize !== planExecution(graph).arenaSize) grown++;
      session.dispose();
    }
    expect(grown).toBeGreaterThan(0); // the chains changed some plan: the test tells the two plans apart
  });

  it("compile given planExecution's plan (one that does not keep chains apart) runs correctly: cpu's bits, its arena that plan's", async () => {
    const backend = pools.get(2)!;
    for (const [label, make] of GRAPHS) {
      const graph = make();
      const feeds = feedsFor(graph, 13);
      const plan = planExecution(graph);
      const exe = await backend.compile(graph, plan);
      const cpu = await createSession(graph, { backend: 'cpu' });
      const expected = await cpu.run(feeds);
      const actual = await exe.run(feeds);
      for (const name of Object.keys(graph.outputs)) expectBitIdentical(actual[name], expected[name]);
      expect((exe as unknown as { arenaSize: number }).arenaSize, label).toBe(plan.arenaSize);
      exe.dispose();
      cpu.dispose();
    }
  });
});

describe('workers backend: failures', () => {
  const graph = workloadGraph(workload('W3'));
  const node = 'l1_conv2d';
  let session: Session;
  let cpuOut: Float32Array;
  const feeds = feedsFor(graph, 21);

  beforeAll(async () => {
    session = await createSession(graph, { backend: 'workers-2', container });
    cpuOut = first(await (await createSession(graph)).run(feeds));
  });

  for (const kind of ['exit', 'throw'] as const) {
    it(`a worker that ${kind === 'exit' ? 'calls process.exit' : 'throws'} mid-run fails the run naming node and worker; the next run works`, async () => {
      const backend = pools.get(2)!;
      const before = await backend.testHooks.threadIds();
      await backend.testHooks.injectFault(1, node, kind);
      const error = await session.run(feeds).then(
        () => null,
        (e: Error) => e,
      );
      expect(error).toBeInstanceOf(Error);
      expect(error!.message).toContain(`node '${node}' (conv2d)`);
      expect(error!.message).toMatch(new RegExp(`worker 1 \\(thread ${before[1]}\\)`));
      expect(error!.message).toContain(kind === 'exit' ? 'exited with code 3' : `threw: injected fault on node '${node}'`);
      // The pool replaced the worker; the next run is whole and correct.
      expectBitIdentical(first(await session.run(feeds)), cpuOut);
      const after = await backend.testHooks.threadIds();
      expect(after[0]).toBe(before[0]);
      expect(after[1]).not.toBe(before[1]);
      expect(after[1]).not.toBeNull();
      expect(liveWorkerCount() - baseline).toBe(8); // 1 + 2 + 3 + 2 (caller waits)
    });
  }

  it('an error in the calling thread\'s share fails the run naming the node; the workers are released and the next run works', async () => {
    const backend = pools.get(1)!; // one worker plus the calling thread
    const s = await createSession(graph, { backend: 'workers-1', container });
    const before = await backend.testHooks.threadIds();
    backend.testHooks.failCaller(node);
    const error = await s.run(feeds).then(
      () => null,
      (e: Error) => e,
    );
    expect(error?.message).toContain(`node '${node}' (conv2d)`);
    expect(error?.message).toContain(`the calling thread's part of the node failed: injected fault on node '${node}'`);
    expectBitIdentical(first(await s.run(feeds)), cpuOut);
    // The worker was not at fault: it is still the same thread.
    expect(await backend.testHooks.threadIds()).toEqual(before);
    s.dispose();
  });

  it('the watchdog turns a stuck worker into an error, and the next run works', async () => {
    const backend = createWorkersBackend({ threads: 2, timeoutMs: 1500, ...EAGER });
    const c = createContainer();
    registerBackend(c, 'watched', () => backend);
    try {
      const g = seedCnn({ batch: 2 });
      const f = feedsFor(g, 8);
      const s = await createSession(g, { backend: 'watched', container: c });
      const expected = first(await (await createSession(g)).run(f));
      expectBitIdentical(first(await s.run(f)), expected);
      await backend.testHooks.injectFault(0, 'conv1', 'hang');
      const t0 = performance.now();
      const error = await s.run(f).then(
        () => null,
        (e: Error) => e,
      );
      expect(performance.now() - t0).toBeLessThan(15_000);
      expect(error?.message).toContain("node 'conv1' (conv2d)");
      expect(error?.message).toMatch(/worker 0 \(thread \d+\) did not finish within 1500 ms \(watchdog\)/);
      expectBitIdentical(first(await s.run(f)), expected);
    } finally {
      await backend.dispose();
    }
  });
});

describe('workers backend: sharing and lifecycle', () => {
  it('two sessions sharing one pool run concurrently and each gets its own results', async () => {
    const a = workloadGraph(workload('W3'));
    const b = seedCnn({ batch: 4, seed: 3 });
    const sa = await createSession(a, { backend: 'workers-2', container });
    const sb = await createSession(b, { backend: 'workers-2', container });
    expect(getBackend(container, 'workers-2')).toBe(pools.get(2));
    const ca = await createSession(a);
    const cb = await createSession(b);
    const feedsA = [1, 2, 3].map((s) => feedsFor(a, s));
    const feedsB = [4, 5, 6, 7, 8].map((s) => feedsFor(b, s));
    const [outA, outB] = await Promise.all([Promise.all(feedsA.map((f) => sa.run(f))), Promise.all(feedsB.map((f) => sb.run(f)))]);
    for (let i = 0; i < feedsA.length; i++) expectBitIdentical(first(outA[i]), first(await ca.run(feedsA[i])));
    for (let i = 0; i < feedsB.length; i++) expectBitIdentical(first(outB[i]), first(await cb.run(feedsB[i])));
    sa.dispose();
    sb.dispose();
  });

  it('dispose terminates every worker of the pool; the backend refuses work afterwards', async () => {
    const before = liveWorkerCount();
    const backend = createWorkersBackend({ threads: 3, ...EAGER });
    expect(await backend.ready()).toBe(3);
    expect(liveWorkerCount()).toBe(before + 3);
    const c = createContainer();
    registerBackend(c, 'gone', () => backend);
    const graph = seedCnn();
    const session = await createSession(graph, { backend: 'gone', container: c });
    await session.run(feedsFor(graph, 1));
    await backend.dispose();
    expect(liveWorkerCount()).toBe(before);
    expect((await backend.testHooks.threadIds()).every((t) => t === null)).toBe(true);
    await expect(session.run(feedsFor(graph, 1))).rejects.toThrow(/disposed/);
    await expect(createSession(graph, { backend: 'gone', container: c })).rejects.toThrow(/disposed/);
  });

  it("registers 'workers' in the default container; by default the pool and the calling thread together use every core", async () => {
    expect(backendNames(defaultContainer)).toContain('workers');
    const before = liveWorkerCount();
    const graph = workloadGraph(workload('W3'));
    const feeds = feedsFor(graph, 2);
    const session = await createSession(graph, { backend: 'workers' });
    const backend = getBackend(defaultContainer, 'workers') as WorkersBackend;
    expect(await backend.ready()).toBe(Math.max(1, os.availableParallelism() - 1));
    expectBitIdentical(first(await session.run(feeds)), first(await (await createSession(graph)).run(feeds)));
    await disposeBackends(defaultContainer);
    expect(liveWorkerCount()).toBe(before);
  });

  it('registerWorkersBackend binds a configured pool under its own name', async () => {
    const c = createContainer();
    registerWorkersBackend(c, { name: 'workers-x', threads: 1 });
    expect(backendNames(c)).toEqual(['workers-x']);
    const backend = getBackend(c, 'workers-x') as WorkersBackend;
    expect(backend.name).toBe('workers-x');
    expect(await backend.ready()).toBe(1);
    await disposeBackends(c);
  });
});
