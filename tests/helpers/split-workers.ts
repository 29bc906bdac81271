/**
 * A workers backend that splits every step, however small (`workers-split`), so a kernel's
 * ranges [start, end) really differ per thread; and the check that cpu and it agree with the
 * float64 reference. For the op tests that are not yet in the conformance suite's workers run.
 */
import '@tessera/backend-cpu';
import { createWorkersBackend, type WorkersBackend } from '@tessera/backend-workers';
import { compareToReference, evaluate, type Graph } from '@tessera/core';
import { createContainer, createSession, registerBackend } from '@tessera/runtime';

type Container = ReturnType<typeof createContainer>;
import { afterAll, beforeAll, expect } from 'vitest';
import { expectBitIdentical } from './bits.js';

/** Registers `workers-split` in a container of its own for the file's tests; disposes it after. */
export function useSplitWorkers(): Container {
  const container = createContainer();
  let workers: WorkersBackend | undefined;
  beforeAll(async () => {
    workers = createWorkersBackend({ threads: 2, inlineCost: 0, inlineGraphCost: 0, minPartCost: 0 });
    registerBackend(container, 'workers-split', () => workers!);
    await workers.ready();
  }, 120_000);
  afterAll(async () => {
    await workers?.dispose();
  });
  return container;
}

/**
 * Runs `graph` on cpu and on `workers-split`: every output within the reference's bounds, and,
 * with `bitIdentical`, the two backends' outputs bit for bit equal.
 */
export async function expectBackendsAgree(
  container: Container,
  graph: Graph,
  feeds: Record<string, Float32Array>,
  label: string,
  bitIdentical: boolean,
): Promise<void> {
  const ref = evaluate(graph, feeds);
  const cpu = await createSession(graph, { backend: 'cpu' });
  const split = await createSession(graph, { backend: 'workers-split', container });
  try {
    const a = await cpu.run(feeds);
    const b = await split.run(feeds);
    for (const name of Object.keys(graph.outputs)) {
      for (const [backend, out] of [['cpu', a[name]], ['workers', b[name]]] as const) {
        const cmp = compareToReference(out, ref[name]);
        expect(cmp.ok, `${label}: ${backend} ${name}: worst ${cmp.worstRatio} x bound, first failure ${JSON.stringify(cmp.firstFailure)}`).toBe(true);
      }
      if (bitIdentical) expectBitIdentical(b[name], a[name], `${label}: workers vs cpu`);
    }
  } finally {
    cpu.dispose();
    split.dispose();
  }
}
