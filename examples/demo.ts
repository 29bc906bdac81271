/**
 * `pnpm demo`: the seed CNN built in code, summarized, then run on every backend next to the
 * float64 reference, printing each backend's agreement (worst error as a fraction of its
 * per-element bound) and timings.
 */
import '@tessera/backend-cpu';
import { evaluate, formatSummary, randomTensor } from '@tessera/core';
import { backendNames, createSession, disposeBackends } from '@tessera/runtime';
import { seedCnn } from '@tessera/examples';

const BATCH = 8;
const graph = seedCnn({ batch: BATCH });
console.log(formatSummary(graph) + '\n');

const x = randomTensor(graph.inputs[0].shape, 2026).data;
const t0 = performance.now();
const ref = evaluate(graph, { x }).logits;
console.log(`reference (float64): ${(performance.now() - t0).toFixed(1)} ms; first image's logits ${fmt(ref.value.slice(0, 10))}`);

for (const backend of backendNames()) {
  const session = await createSession(graph, { backend });
  const first = performance.now();
  let y = (await session.run({ x })).logits;
  const firstMs = performance.now() - first;
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    y = (await session.run({ x })).logits;
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  let worst = 0;
  for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i] - ref.value[i]) / ref.bound[i]);
  const verdict = worst <= 1 ? 'agrees' : 'DISAGREES';
  console.log(
    `${backend.padEnd(8)} ${verdict} with the reference: worst error ${worst.toExponential(2)} of its bound; ` +
      `first run ${firstMs.toFixed(1)} ms, median ${times[5].toFixed(2)} ms (batch ${BATCH}); logits ${fmt(y.slice(0, 10))}`,
  );
  session.dispose();
  if (worst > 1) process.exitCode = 1;
}
await disposeBackends();

function fmt(v: ArrayLike<number>): string {
  return `[${Array.from(v, (n) => n.toFixed(3)).join(' ')}]`;
}
