/** The worker side of the kernel ceiling: the same workload on its own, on request. */
import { parentPort } from 'node:worker_threads';
import type { IOMode } from '../harness.js';
import { cpuRunner, overlappedRuns } from './workload.js';

type Request = { kind: 'load'; id: string; level: 'O0' | 'O1' | 'O2'; io: IOMode } | { kind: 'time'; runs: number; flags: Int32Array };

let run: (() => Promise<unknown>) | null = null;
parentPort!.on('message', async (msg: Request) => {
  if (msg.kind === 'load') {
    run = await cpuRunner(msg.id, msg.level, msg.io);
    for (let i = 0; i < 3; i++) await run();
    parentPort!.postMessage(null);
  } else {
    parentPort!.postMessage(await overlappedRuns(run!, msg.runs, msg.flags, 1));
  }
});
