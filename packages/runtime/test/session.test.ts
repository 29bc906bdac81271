import '@tessera/backend-cpu';
import { GraphBuilder, Tensor, TesseraError, evaluate, randomTensor } from '@tessera/core';
import { bottleneckBlock, seedCnn } from '@tessera/examples';
import type { Container } from 'inversify';
import { firstValueFrom, from, lastValueFrom, of, Subject, take, toArray } from 'rxjs';
import { describe, expect, test } from 'vitest';
import {
  backendNames,
  createContainer,
  createSession,
  defaultContainer,
  disposeBackends,
  getBackend,
  registerBackend,
  type Backend,
  type ExecEvent,
} from '../src/index.js';

const graph = seedCnn();

/**
 * A container with the cpu backend behind an executable of only `run` and `dispose` (no
 * `ioBuffers`), as a minimal user backend would be; `passInto` false drops the output buffers.
 */
function minimalCpu(name: string, passInto: boolean): Container {
  const container = createContainer();
  const real = getBackend(defaultContainer, 'cpu');
  const backend: Backend = {
    name,
    hasKernel: (op) => real.hasKernel(op),
    compile: async (g, plan) => {
      const inner = await real.compile(g, plan);
      return { run: (f, observer, into) => inner.run(f, observer, passInto ? into : undefined), dispose: () => inner.dispose() };
    },
    dispose: async () => undefined,
  };
  registerBackend(container, name, () => backend);
  return container;
}
const feeds = () => ({ x: randomTensor([1, 28, 28, 1], 3).data });

describe('sessions', () => {
  test('a session runs the graph and agrees with the reference within the bounds', async () => {
    const session = await createSession(graph, { backend: 'cpu' });
    const f = feeds();
    const { logits } = await session.run(f);
    const ref = evaluate(graph, f).logits;
    logits.forEach((v, i) => expect(Math.abs(v - ref.value[i])).toBeLessThanOrEqual(ref.bound[i]));
    session.dispose();
  });

  test('stats report the arena with and without reuse (W3: reuse saves memory)', async () => {
    const session = await createSession(bottleneckBlock(), { backend: 'cpu' });
    expect(session.stats.peakBytes).toBeLessThan(session.stats.noReuseBytes);
    expect(session.stats.backend).toBe('cpu');
    session.dispose();
  });

  test('feeds are validated at run, with errors naming the input', async () => {
    const session = await createSession(graph, { backend: 'cpu' });
    await expect(session.run({})).rejects.toThrow(/input 'x' \[1,28,28,1\] is missing/);
    await expect(session.run({ ...feeds(), y: new Float32Array(1) })).rejects.toThrow(/feed 'y' is not an input/);
    await expect(session.run({ x: new Float32Array(3) })).rejects.toThrow(/input 'x' of shape \[1,28,28,1\] needs 784 values, got 3/);
    await expect(session.run({ x: new Float64Array(784) as unknown as Float32Array })).rejects.toThrow(/input 'x' must be a Float32Array, got Float64Array/);
    // A bad run does not break the session.
    expect((await session.run(feeds())).logits).toHaveLength(10);
    session.dispose();
  });

  test('outputs go into the buffers the caller gives (the same arrays come back, with the values of a plain run)', async () => {
    const session = await createSession(graph, { backend: 'cpu' });
    const f = feeds();
    const fresh = (await session.run(f)).logits;
    const buffer = new Float32Array(10).fill(Number.NaN);
    const { logits } = await session.run(f, { outputs: { logits: buffer } });
    expect(logits).toBe(buffer);
    expect(logits).toEqual(fresh);
    // The next run overwrites the same buffer.
    const g = { x: randomTensor([1, 28, 28, 1], 99).data };
    await session.run(g, { outputs: { logits: buffer } });
    expect(buffer).toEqual((await session.run(g)).logits);
    session.dispose();
  });

  test('a backend that ignores output buffers still fills them (the session copies)', async () => {
    const session = await createSession(graph, { backend: 'ignores-into', container: minimalCpu('ignores-into', false) });
    const f = feeds();
    const buffer = new Float32Array(10);
    const { logits } = await session.run(f, { outputs: { logits: buffer } });
    expect(logits).toBe(buffer);
    expect(buffer).toEqual((await session.run(f)).logits);
    session.dispose();
  });

  test('bound IO (bindIO): an input written once in session.io serves several runs, outputs land in session.io, and on cpu nothing is copied', async () => {
    const plain = await createSession(graph, { backend: 'cpu' });
    const session = await createSession(graph, { backend: 'cpu', bindIO: true });
    const { inputs, outputs } = session.io;
    const f = feeds();
    inputs.x.set(f.x);
    const expected = (await plain.run(f)).logits;
    for (let run = 0; run < 2; run++) {
      const result = await session.run(inputs, { outputs });
      expect(result.logits).toBe(outputs.logits);
      expect(outputs.logits).toEqual(expected);
    }
    // The arrays are the backend's own memory: one buffer holds the input and the output.
    expect(inputs.x.buffer).toBe(outputs.logits.buffer);
    expect(session.io).toBe(session.io);
    plain.dispose();
    session.dispose();
  });

  test('bound IO on a backend without its own arrays: the session stages them (runs copy, results are the same)', async () => {
    const session = await createSession(graph, { backend: 'opaque', container: minimalCpu('opaque', true), bindIO: true });
    const { inputs, outputs } = session.io;
    const f = feeds();
    inputs.x.set(f.x);
    await session.run(inputs, { outputs });
    expect(inputs.x.buffer).not.toBe(outputs.logits.buffer);
    const plain = await createSession(graph, { backend: 'cpu' });
    expect(outputs.logits).toEqual((await plain.run(f)).logits);
    plain.dispose();
    session.dispose();
  });

  test('session.io without bindIO is refused, with a clear error', async () => {
    const session = await createSession(graph, { backend: 'cpu' });
    expect(() => session.io).toThrow(/created without bindIO/);
    session.dispose();
  });

  test('output buffers are validated at run, with errors naming the output', async () => {
    const session = await createSession(graph, { backend: 'cpu' });
    const run = (outputs: Record<string, Float32Array>) => session.run(feeds(), { outputs });
    await expect(run({ probs: new Float32Array(10) })).rejects.toThrow(/output buffer 'probs' is not an output of graph 'seed-cnn' \(outputs: logits\)/);
    await expect(run({ logits: new Float32Array(9) })).rejects.toThrow(/output buffer 'logits' of shape \[1, 10\] needs 10 values, got 9/);
    await expect(run({ logits: new Float64Array(10) as unknown as Float32Array })).rejects.toThrow(/output buffer 'logits' must be a Float32Array, got Float64Array/);
    session.dispose();
  });

  test('two outputs cannot share one buffer', async () => {
    const g = new GraphBuilder('two');
    const x = g.input('x', [1, 4]);
    const two = g.build({ a: g.relu(x), b: g.relu(x) });
    const session = await createSession(two, { backend: 'cpu' });
    const buffer = new Float32Array(4);
    await expect(session.run({ x: new Float32Array(4) }, { outputs: { a: buffer, b: buffer } })).rejects.toThrow(/outputs 'a' and 'b' were given the same buffer/);
    session.dispose();
  });

  test('a disposed session refuses to run, with a clear error', async () => {
    const session = await createSession(graph, { backend: 'cpu' });
    session.dispose();
    expect(session.isDisposed).toBe(true);
    await expect(session.run(feeds())).rejects.toThrow(/session of graph 'seed-cnn' on backend 'cpu' is disposed/);
  });

  test('runs are serialized and answered in call order', async () => {
    const session = await createSession(graph, { backend: 'cpu' });
    const inputs = [1, 2, 3, 4].map((s) => ({ x: randomTensor([1, 28, 28, 1], s).data }));
    const results = await Promise.all(inputs.map((f) => session.run(f)));
    for (const [i, f] of inputs.entries()) expect(results[i].logits).toEqual((await session.run(f)).logits);
    session.dispose();
  });

  test('events$ reports run and node start / end with durations, backend and bytes; trace() is Chrome trace JSON', async () => {
    const session = await createSession(graph, { backend: 'cpu' });
    const events: ExecEvent[] = [];
    const sub = session.events$.subscribe((e) => events.push(e));
    await session.run(feeds());
    sub.unsubscribe();
    const kinds = events.map((e) => e.type);
    expect(kinds[0]).toBe('run-start');
    expect(kinds[kinds.length - 1]).toBe('run-end');
    const ends = events.filter((e): e is Extract<ExecEvent, { type: 'node-end' }> => e.type === 'node-end');
    // Every node but the reshape (a view) runs a kernel.
    expect(ends.map((e) => e.node)).toEqual(graph.nodes.filter((n) => n.op !== 'reshape').map((n) => n.name));
    const conv = ends.find((e) => e.node === 'conv1')!;
    expect(conv.backend).toBe('cpu');
    expect(conv.bytes).toBe(4 * (784 + 576 + 28 * 28 * 64));
    expect(conv.duration).toBeGreaterThanOrEqual(0);
    const trace = session.trace();
    expect(trace.traceEvents.filter((t) => t.cat === 'conv2d')).toHaveLength(1);
    for (const t of trace.traceEvents) expect(t).toMatchObject({ ph: 'X', pid: 1 });
    expect(JSON.parse(JSON.stringify(trace))).toEqual(trace);
    session.dispose();
  });

  test('an unobserved run records nothing (events cost nothing unless someone listens)', async () => {
    const session = await createSession(graph, { backend: 'cpu' });
    await session.run(feeds());
    expect(session.trace().traceEvents).toHaveLength(0);
    session.dispose();
  });

  test('infer() runs a stream of feeds in order, one at a time', async () => {
    const session = await createSession(graph, { backend: 'cpu' });
    const inputs = [5, 6, 7].map((s) => ({ x: randomTensor([1, 28, 28, 1], s).data }));
    const outs = await lastValueFrom(from(inputs).pipe(session.infer(), toArray()));
    for (const [i, f] of inputs.entries()) expect(outs[i].logits).toEqual((await session.run(f)).logits);
    session.dispose();
  });

  test('infer() delivers a run error on the stream, naming the input', async () => {
    const session = await createSession(graph, { backend: 'cpu' });
    await expect(lastValueFrom(of({ x: new Float32Array(1) }).pipe(session.infer()))).rejects.toThrow(/input 'x'/);
    session.dispose();
  });

  test('unsubscribing from infer() stops the stream: later frames are never run', async () => {
    const session = await createSession(graph, { backend: 'cpu' });
    const frames = new Subject<{ x: Float32Array }>();
    const first = firstValueFrom(frames.pipe(session.infer(), take(1)));
    frames.next(feeds());
    await first;
    const runs = session.stats.runs;
    frames.next(feeds()); // nobody is subscribed any more
    await new Promise((r) => setTimeout(r, 20));
    expect(session.stats.runs).toBe(runs);
    session.dispose();
  });
});

describe('backends by name (inversify container)', () => {
  const tiny = () => {
    const g = new GraphBuilder('tiny');
    const x = g.input('x', [1, 4]);
    return g.build({ y: g.matmul(x, g.constant('w', new Tensor([4, 2], [1, 0, 0, 1, 1, 0, 0, 1])), { name: 'mm' }) });
  };

  test('a graph with an op the backend lacks fails at compile, naming op, node and backend', async () => {
    const c = createContainer();
    const partial: Backend = {
      name: 'partial',
      hasKernel: (op) => op !== 'matmul',
      compile: () => Promise.reject(new Error('not reached')),
      dispose: async () => {},
    };
    registerBackend(c, 'partial', () => partial);
    await expect(createSession(tiny(), { backend: 'partial', container: c })).rejects.toThrow(
      new TesseraError(`backend 'partial' has no kernel for op 'matmul'`, { node: 'mm', op: 'matmul' }).message,
    );
  });

  test('an unknown backend name is refused, listing the registered ones', async () => {
    const c = createContainer();
    registerBackend(c, 'a', () => ({ name: 'a', hasKernel: () => true, compile: () => Promise.reject(new Error('x')), dispose: async () => {} }));
    await expect(createSession(tiny(), { backend: 'b', container: c })).rejects.toThrow(/no backend named 'b' is registered \(registered: a;/);
  });

  test('registering a name again swaps the backend; one instance per container until disposed', async () => {
    const c = createContainer();
    let created = 0;
    let disposed = 0;
    const make = (tag: string): Backend => {
      created++;
      return {
        name: tag,
        hasKernel: () => true,
        compile: async () => ({ run: async () => ({ y: new Float32Array([tag === 'one' ? 1 : 2, 0]) }), dispose: () => {} }),
        dispose: async () => void disposed++,
      };
    };
    registerBackend(c, 'mine', () => make('one'));
    const s1 = await createSession(tiny(), { backend: 'mine', container: c });
    const s2 = await createSession(tiny(), { backend: 'mine', container: c });
    expect(created).toBe(1);
    expect((await s1.run({ x: new Float32Array(4) })).y[0]).toBe(1);
    registerBackend(c, 'mine', () => make('two'));
    expect(backendNames(c)).toEqual(['mine']);
    const s3 = await createSession(tiny(), { backend: 'mine', container: c });
    expect((await s3.run({ x: new Float32Array(4) })).y[0]).toBe(2);
    await disposeBackends(c);
    expect(disposed).toBe(2); // the swapped-out backend too
    const s4 = await createSession(tiny(), { backend: 'mine', container: c });
    expect(created).toBe(3); // a fresh instance after disposal
    s4.dispose();
    for (const s of [s1, s2, s3]) s.dispose();
  });
});
