/**
 * First calls after one core ran alone for a while: on a VM, a worker asleep that long wakes
 * up late (up to milliseconds) and often on the caller's core. Rounds of: the main thread busy
 * for --busy ms (as during tfjs-cpu's turn in `pnpm bench`), an idle pause of 5 ms, then --block
 * calls of each implementation (cpu, and workers with one worker plus the caller). Prints the
 * medians of first and back-to-back calls.
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
import { median, tesseraCall } from './harness.js';

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
const spin = (ms: number): void => {
  for (const end = performance.now() + ms; performance.now() < end; );
};
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const pool = createWorkersBackend({ threads: 1, mainShare: true });
const container = createContainer();
registerBackend(container, 'workers', () => pool);
await pool.ready();
try {
  for (const name of args.graphs!.split(',')) {
    const graph = graphOf(name);
    const x = randomTensor(graph.inputs[0].shape, 42).data;
    const impls = [
      { name: 'cpu', call: await tesseraCall(graph, x, 'bound', { backend: 'cpu' }), first: [] as number[], later: [] as number[] },
      { name: 'workers', call: await tesseraCall(graph, x, 'bound', { backend: 'workers', container }), first: [] as number[], later: [] as number[] },
    ];
    for (const impl of impls) for (let i = 0; i < 3; i++) await impl.call.run();
    for (let r = 0; r < rounds; r++) {
      for (const impl of impls) {
        spin(busyMs);
        await pause(5);
        for (let j = 0; j < block; j++) {
          const t0 = performance.now();
          await impl.call.run();
          (j === 0 ? impl.first : impl.later).push(performance.now() - t0);
        }
      }
    }
    const [cpu, workers] = impls.map((i) => ({ first: median(i.first), later: median(i.later) }));
    console.log(
      `${name}, ${busyMs} ms busy: cpu first ${cpu.first.toFixed(2)} ms, back to back ${cpu.later.toFixed(2)} ms | ` +
        `workers first ${workers.first.toFixed(2)} ms (x${(cpu.first / workers.first).toFixed(2)}), back to back ${workers.later.toFixed(2)} ms (x${(cpu.later / workers.later).toFixed(2)})`,
    );
    impls.forEach((i) => i.call.session.dispose());
  }
} finally {
  await pool.dispose();
}
