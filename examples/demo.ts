/**
 * `pnpm demo`: the seed CNN built in code and summarized, optimized by the O1 pipeline, then run
 * unoptimized and optimized on every backend next to the float64 reference, printing each run's
 * agreement (worst error as a fraction of its per-element bound) and timings. Sessions bind their
 * input and output (`bindIO`): the image batch is written once into `session.io`, and on cpu and
 * workers a run copies nothing in or out. For workers it also prints, from the backend's timeline,
 * how the last run was shared among the threads.
 */
import '@tessera/backend-cpu';
import { registerWorkersBackend, threadTotals, type WorkersBackend } from '@tessera/backend-workers';
import { registerBrowserBackends } from '@tessera/browser';
import { evaluate, formatSummary, randomTensor, type Graph, type RefTensor } from '@tessera/core';
import { formatReport, optimize } from '@tessera/passes';
import { backendNames, createSession, defaultContainer, disposeBackends, getBackend } from '@tessera/runtime';
import { seedCnn } from '@tessera/examples';

// webgl runs in headless Chromium, driven from here (started on first use).
registerBrowserBackends();
// The default workers backend, recording which thread runs what (`takeTimeline`).
registerWorkersBackend(defaultContainer, { timeline: true });
const BACKENDS = ['cpu', 'workers', 'webgl'];
const BATCH = 8;
const graph = seedCnn({ batch: BATCH });
console.log(formatSummary(graph) + '\n');

const o1 = optimize(graph, { level: 'O1', verify: true });
console.log(`O1 pipeline (verified pass by pass against the reference):\n${formatReport(o1.reports, { maxLines: 4 })}\n`);

const x = randomTensor(graph.inputs[0].shape, 2026).data;
const t0 = performance.now();
const ref = evaluate(graph, { x }).logits;
console.log(`reference (float64): ${(performance.now() - t0).toFixed(1)} ms; image 0 logits ${fmt(ref.value.slice(0, 10))}\n`);

for (const backend of BACKENDS.filter((b) => backendNames().includes(b))) {
  for (const [level, g] of [['O0', graph], ['O1', o1.graph]] as const) await runOn(backend, level, g, ref);
}
await disposeBackends();

async function runOn(backend: string, level: string, g: Graph, expected: RefTensor): Promise<void> {
  const session = await createSession(g, { backend, bindIO: true });
  const { inputs, outputs } = session.io;
  inputs.x.set(x);
  const first = performance.now();
  await session.run(inputs, { outputs });
  const firstMs = performance.now() - first;
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    await session.run(inputs, { outputs });
    times.push(performance.now() - t);
  }
  const y = outputs.logits;
  times.sort((a, b) => a - b);
  let worst = 0;
  for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i] - expected.value[i]) / expected.bound[i]);
  const verdict = worst <= 1 ? 'agrees' : 'DISAGREES';
  console.log(
    `${`${backend} ${level}`.padEnd(11)} ${verdict} with the reference (worst error ${worst.toExponential(2)} of its bound); ` +
      `first run ${firstMs.toFixed(1)} ms, median ${times[5].toFixed(2)} ms for ${BATCH} images; image 0 logits ${fmt(y.slice(0, 10))}`,
  );
  if (backend === 'workers') console.log(`            ${await threadShares(getBackend(defaultContainer, 'workers') as WorkersBackend)}`);
  session.dispose();
  if (worst > 1) process.exitCode = 1;
}

/** How the last recorded run was shared: each thread's kernel calls and time inside kernels. */
async function threadShares(workers: WorkersBackend): Promise<string> {
  const run = (await workers.takeTimeline()).at(-1);
  if (!run) return 'the run did not use the pool (too small to split)';
  const shares = threadTotals(run).map(({ thread, calls, busy }) => `${thread < 0 ? 'calling thread' : `worker ${thread}`} ${calls} kernel calls, ${busy.toFixed(2)} ms`);
  return `last run ${(run.end - run.start).toFixed(2)} ms, shared: ${shares.join('; ')}`;
}

function fmt(v: ArrayLike<number>): string {
  return `[${Array.from(v, (n) => n.toFixed(3)).join(' ')}]`;
}
