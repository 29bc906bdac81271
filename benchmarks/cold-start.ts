/**
 * First calls after one core ran alone for a while: on a VM, a worker asleep that long wakes
 * up late (up to milliseconds) and often on the caller's core. Rounds of: the main thread busy
 * for --busy ms (as during tfjs-cpu's turn in `pnpm bench`), the harness's settle (a garbage
 * collection, a 5 ms pause, a wait until the process is idle), then --block calls of each
 * implementation (cpu, and workers with one worker plus the caller), in the turns of the
 * harness's `timeInterleaved`. Prints the medians of first and back-to-back calls.
 *
 *   npx tsx --conditions=@tessera/source benchmarks/cold-start.ts [--graphs seed:4,W1-b32,W3] [--busy 1500] [--rounds 16] [--block 3]
 *
 * `seed:N` is the seed CNN on a batch of N; other names are workloads (workloads.json).
 */
import { createWorkersBackend } from '@tessera/backend-workers';
import { randomTensor, type Graph } from '@tessera/core';
import { seedCnn, workload, workloadGraph } from '@tessera/examples';
import { createContainer, registerBackend } from '@tessera/runtime';
import { parseArgs } from 'node:util';
import { tesseraCall, timeInterleaved } from './harness.js';

const { values: args } = parseArgs({
  options: {
    graphs: { type: 'string', default: 'seed:4,W1-b32,W3' },
    busy: { type: 'string', default: '1500' },
    rounds: { type: 'string', default: '16' },
    block: { type: 'string', default: '3' },
  },
});
const [busyMs, rounds, block] = [Number(args.busy), Number(args.rounds), Number(args.block)];
if (!(busyMs >= 0 && Number.isInteger(rounds) && rounds > 0 && Number.isInteger(block) && block > 1)) {
  throw new Error('--busy must be >= 0, --rounds a positive integer, --block an integer >= 2');
}

const graphOf = (name: string): Graph => (name.startsWith('seed:') ? seedCnn({ batch: Number(name.slice(5)) }) : workloadGraph(workload(name)));
/** Before each turn (harness `enter`, then its settle): one core busy, the other idle. */
const busy = async (): Promise<void> => {
  for (const end = performance.now() + busyMs; performance.now() < end; );
};

const pool = createWorkersBackend({ threads: 1, mainShare: true });
const container = createContainer();
registerBackend(container, 'workers', () => pool);
await pool.ready();
try {
  for (const name of args.graphs!.split(',')) {
    const graph = graphOf(name);
    const x = randomTensor(graph.inputs[0].shape, 42).data;
    const cpu = await tesseraCall(graph, x, 'bound', { backend: 'cpu' });
    const workers = await tesseraCall(graph, x, 'bound', { backend: 'workers', container });
    const t = await timeInterleaved(
      [
        { name: 'cpu', enter: busy, run: cpu.run },
        { name: 'workers', enter: busy, run: workers.run },
      ],
      { warmup: 3, runs: rounds * block, block },
    );
    const [c, w] = [t.get('cpu')!, t.get('workers')!];
    console.log(
      `${name}, ${busyMs} ms busy: cpu first ${c.firstMedian.toFixed(2)} ms, back to back ${c.backToBackMedian.toFixed(2)} ms | ` +
        `workers first ${w.firstMedian.toFixed(2)} ms (x${(c.firstMedian / w.firstMedian).toFixed(2)}), back to back ${w.backToBackMedian.toFixed(2)} ms (x${(c.backToBackMedian / w.backToBackMedian).toFixed(2)})`,
    );
    for (const s of [cpu, workers]) s.session.dispose();
  }
} finally {
  await pool.dispose();
}
