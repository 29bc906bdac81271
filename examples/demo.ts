/**
 * `pnpm demo`: ResNet-50 (Keras' ResNet50, 224x224x3, 1000 classes, deterministic weights) built
 * in code and summarized, optimized by the O1 pipeline (fused, batch norm folded where the passes
 * do it), then run unoptimized (O0) and optimized (O1) on every backend: time per image and
 * agreement.
 *
 * Agreement is judged twice. At 224x224 the float64 reference of ResNet-50 takes minutes, so each
 * run's class probabilities are compared with the cpu backend's at O0 (the cpu backend being held
 * to the reference layer by layer in tests/networks.test.ts). At 32x32 the reference takes
 * seconds, and every backend and level is compared with it element by element, within the
 * per-element bound. Sessions bind their input and output (`bindIO`): a run copies nothing in or
 * out on cpu and workers. For workers it also prints how the last run was shared among the threads.
 */
import '@tessera/backend-cpu';
import { registerWorkersBackend, threadTotals, type WorkersBackend } from '@tessera/backend-workers';
import { registerBrowserBackends } from '@tessera/browser';
import { compareToReference, evaluate, randomTensor, summarize, type Graph } from '@tessera/core';
import { formatReport, optimize } from '@tessera/passes';
import { backendNames, createSession, defaultContainer, disposeBackends, getBackend } from '@tessera/runtime';
import { resnet50 } from '@tessera/examples';

// webgl runs in headless Chromium, driven from here (started on first use).
registerBrowserBackends();
// The default workers backend, recording which thread runs what (`takeTimeline`).
registerWorkersBackend(defaultContainer, { timeline: true });
const BACKENDS = ['cpu', 'workers', 'webgl'].filter((b) => backendNames().includes(b));
const RUNS = 3;
/** Largest difference in a class probability accepted between two float32 runs of the network. */
const TOLERANCE = 1e-4;

const graph = resnet50();
const { totalParams, totalMacs } = summarize(graph);
console.log(`ResNet-50 as Keras builds it: ${graph.nodes.length} nodes, ${totalParams.toLocaleString('en-US')} parameters, ${(totalMacs / 1e9).toFixed(2)} G multiply-adds per 224x224x3 image`);
const o1 = optimize(graph, { level: 'O1' });
console.log(`O1 pipeline: ${o1.graph.nodes.length} nodes\n${formatReport(o1.reports, { maxLines: 6 })}\n`);

const x = randomTensor(graph.inputs[0].shape, 2026).data;
/** Backends that could not run the network, and why (said once; the demo goes on with the others). */
const unavailable = new Map<string, string>();
let expected: Float32Array | null = null;
for (const backend of BACKENDS) {
  for (const [level, g] of [['O0', graph], ['O1', o1.graph]] as const) {
    const result = await attempt(backend, () => timeRuns(backend, level, g, x));
    if (!result) continue;
    const { y, line } = result;
    expected ??= y;
    const worst = maxDifference(y, expected);
    const verdict = worst <= TOLERANCE ? 'agrees with cpu O0' : 'DISAGREES with cpu O0';
    console.log(`${line}; ${verdict} (class probabilities within ${worst.toExponential(2)}), top class ${argmax(y)}`);
    if (backend === 'workers') console.log(`            ${await threadShares(getBackend(defaultContainer, 'workers') as WorkersBackend)}`);
    if (worst > TOLERANCE) process.exitCode = 1;
  }
}
await againstReference(32);
await disposeBackends();

/** A first run and RUNS timed runs of `g` on `backend`: its output and a line with the times per image. */
async function timeRuns(backend: string, level: string, g: Graph, input: Float32Array): Promise<{ y: Float32Array; line: string }> {
  const session = await createSession(g, { backend, bindIO: true });
  const { inputs, outputs } = session.io;
  inputs.x.set(input);
  const first = performance.now();
  await session.run(inputs, { outputs });
  const firstMs = performance.now() - first;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    await session.run(inputs, { outputs });
    times.push(performance.now() - t);
  }
  const y = Float32Array.from(outputs.predictions);
  session.dispose();
  times.sort((a, b) => a - b);
  return { y, line: `${`${backend} ${level}`.padEnd(11)} first run ${firstMs.toFixed(0)} ms, ${times[RUNS >> 1].toFixed(0)} ms per image (median of ${RUNS})` };
}

/** Every backend at O0 and O1 on ResNet-50 at `size` x `size`, element by element against the float64 reference. */
async function againstReference(size: number): Promise<void> {
  const small = resnet50({ size });
  const input = randomTensor(small.inputs[0].shape, 2026).data;
  const t0 = performance.now();
  const ref = evaluate(small, { x: input }).predictions;
  const seconds = (performance.now() - t0) / 1000;
  console.log(`\nResNet-50 at ${size}x${size}: float64 reference ${seconds.toFixed(1)} s (at 224x224 it would take about ${((seconds * (224 / size) ** 2) / 60).toFixed(0)} min)`);
  console.log('(its bound, carried through 50 layers, is loose; tests/networks.test.ts checks every layer within its own bound)');
  const smallO1 = optimize(small, { level: 'O1' }).graph;
  for (const backend of BACKENDS) {
    for (const [level, g] of [['O0', small], ['O1', smallO1]] as const) {
      const y = await attempt(backend, async () => {
        const session = await createSession(g, { backend });
        const out = (await session.run({ x: input })).predictions;
        session.dispose();
        return out;
      });
      if (!y) continue;
      const c = compareToReference(y, ref);
      console.log(`${`${backend} ${level}`.padEnd(11)} ${c.ok ? 'agrees' : 'DISAGREES'} with the reference (worst error ${c.worstRatio.toExponential(2)} of its bound)`);
      if (!c.ok) process.exitCode = 1;
    }
  }
}

/**
 * `run` on `backend`, or null once the backend has failed: the failure is printed the first time,
 * and the demo fails (every backend should run the network).
 */
async function attempt<T>(backend: string, run: () => Promise<T>): Promise<T | null> {
  if (unavailable.has(backend)) return null;
  try {
    return await run();
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    unavailable.set(backend, why);
    console.log(`${backend.padEnd(11)} could not run ResNet-50 (${why}): skipped`);
    process.exitCode = 1;
    return null;
  }
}

function maxDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

function argmax(v: Float32Array): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** How the last recorded run was shared: each thread's kernel calls and time inside kernels. */
async function threadShares(workers: WorkersBackend): Promise<string> {
  const run = (await workers.takeTimeline()).at(-1);
  if (!run) return 'the run did not use the pool (too small to split)';
  const shares = threadTotals(run).map(({ thread, calls, busy }) => `${thread < 0 ? 'calling thread' : `worker ${thread}`} ${calls} kernel calls, ${busy.toFixed(0)} ms`);
  return `last run ${(run.end - run.start).toFixed(0)} ms, shared: ${shares.join('; ')}`;
}
