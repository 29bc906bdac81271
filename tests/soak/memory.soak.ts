/**
 * Soak: 10,000 runs (observed: every run emits events) and 1,000 session cycles per backend keep
 * memory flat. Memory is sampled after a forced collection at each tenth; the last tenth's mean
 * is compared with the first tenth's. Tolerances: the heap within 8 MiB (a leak of one event
 * list per run, ~1.6 KB, is 16 MiB over 10,000 runs; a session's plan and trace are a few KB),
 * RSS within 50 MiB (a leaked shared memory per cycle is ~2 MiB, 2 GiB over 1,000 cycles; the
 * allocator keeps freed arenas mapped, which moves RSS by some MiB without a leak).
 */
import '@tessera/backend-cpu';
import '@tessera/backend-workers';
import { seedCnn } from '@tessera/examples';
import { createSession, disposeBackends } from '@tessera/runtime';
import { afterAll, describe, expect, it } from 'vitest';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const MiB = 2 ** 20;
const graph = seedCnn({ batch: 8 });
const x = new Float32Array(8 * 28 * 28);

afterAll(() => disposeBackends());

/** Runs `step` n times; memory (after a collection) at each tenth; returns first and last tenth's means. */
async function sample(n: number, step: () => Promise<void>, read: () => number): Promise<{ first: number; last: number }> {
  const tenths: number[] = [];
  for (let i = 0; i < n; i++) {
    await step();
    if ((i + 1) % (n / 10) === 0) {
      gc();
      tenths.push(read() / MiB);
    }
  }
  return { first: tenths[0], last: tenths[9] };
}

describe.each(['cpu', 'workers'])('%s', (backend) => {
  it('10,000 observed runs keep the heap flat', async () => {
    const session = await createSession(graph, { backend });
    const sub = session.events$.subscribe(() => undefined);
    const out = { logits: new Float32Array(8 * 10) };
    const { first, last } = await sample(10_000, () => session.run({ x }, { outputs: out }).then(() => undefined), () => process.memoryUsage().heapUsed);
    sub.unsubscribe();
    session.dispose();
    console.log(`${backend}: heap ${first.toFixed(1)} -> ${last.toFixed(1)} MiB over 10,000 observed runs`);
    expect(last - first).toBeLessThan(8);
  });

  it('1,000 session cycles keep RSS flat', async () => {
    const cycle = async () => {
      const session = await createSession(graph, { backend });
      await session.run({ x });
      session.dispose();
    };
    const { first, last } = await sample(1_000, cycle, () => process.memoryUsage().rss);
    console.log(`${backend}: RSS ${first.toFixed(0)} -> ${last.toFixed(0)} MiB over 1,000 session cycles`);
    expect(last - first).toBeLessThan(50);
  });
});
