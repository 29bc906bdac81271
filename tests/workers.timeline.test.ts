/**
 * The workers backend's timeline (option `timeline`): for each whole run, which thread ran which
 * units of which node, and when. It must account for every unit of every step exactly once, put
 * each span inside its run and on the thread that really ran it, and record nothing unless asked.
 */
import '@tessera/backend-cpu';
import { compileOptionsFor, compileProgram, cpuKernel } from '@tessera/backend-cpu/kernels';
import { createWorkersBackend, type TimelineRun, type WorkersBackend } from '@tessera/backend-workers';
import { GraphBuilder, isElementwise, numel, randomTensor, type Graph } from '@tessera/core';
import { seedCnn } from '@tessera/examples';
import { createContainer, createSession, registerBackend } from '@tessera/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Split every step worth a few hundred multiply-adds, so small graphs exercise the workers too. */
const EAGER = { inlineCost: 500, minPartCost: 200, inlineGraphCost: 0 } as const;

const container = createContainer();
const backends: Record<string, WorkersBackend> = {
  sharing: createWorkersBackend({ threads: 2, timeline: true, ...EAGER }),
  waiting: createWorkersBackend({ threads: 2, mainShare: false, timeline: true, ...EAGER }),
  plain: createWorkersBackend({ threads: 1, ...EAGER }),
};

beforeAll(async () => {
  for (const [name, backend] of Object.entries(backends)) registerBackend(container, name, () => backend);
  await Promise.all(Object.values(backends).map((b) => b.ready()));
}, 120_000);

afterAll(async () => {
  await Promise.all(Object.values(backends).map((b) => b.dispose()));
});

/** seed CNN on a batch of 3 (an item-wise chain) and a two-layer MLP (a row-wise chain). */
const GRAPHS: [string, () => Graph][] = [
  ['seed CNN, batch 3', () => seedCnn({ batch: 3, seed: 7 })],
  ['an MLP on 64 rows', () => {
    const g = new GraphBuilder('mlp');
    const h = g.relu(g.matmul(g.input('x', [64, 48]), g.constant('w1', randomTensor([48, 40], 1))));
    return g.build({ y: g.matmul(h, g.constant('w2', randomTensor([40, 16], 2))) });
  }],
];

/** Runs `graph` `runs` times on `backend` and returns what its timeline recorded meanwhile. */
async function recordRuns(backend: string, graph: Graph, runs: number): Promise<{ timeline: TimelineRun[]; units: Map<string, number> }> {
  const session = await createSession(graph, { backend, container });
  const feeds = Object.fromEntries(graph.inputs.map((v, i) => [v.name, randomTensor(v.shape, 10 + i).data]));
  await backends[backend].takeTimeline(); // nothing from earlier tests
  for (let r = 0; r < runs; r++) await session.run(feeds);
  const timeline = await backends[backend].takeTimeline();
  // The nodes a conv / matmul took into its epilogue run no step of their own (epilogues.ts).
  const taken = new Set(compileProgram(session.plan, cpuKernel, backend, compileOptionsFor(true, {})).steps.flatMap((s) => s.takes ?? []).map((i) => graph.nodes[i].name));
  session.dispose();
  // Units of every node that runs a kernel (not the views: reshape, nor the nodes taken): elements
  // for element-wise ops, output rows (matmul) or pixels (conv2d, maxpool) for the others.
  const units = new Map(graph.nodes.filter((n) => n.op !== 'reshape' && !taken.has(n.name)).map((n) => {
    const size = numel(n.output.shape);
    return [n.name, isElementwise(n.op) ? size : size / n.output.shape[n.output.shape.length - 1]];
  }));
  return { timeline, units };
}

describe('workers timeline', () => {
  for (const [name, make] of GRAPHS) {
    it(`${name}: every unit of every node is in exactly one span of each run`, async () => {
      const { timeline, units } = await recordRuns('sharing', make(), 3);
      expect(timeline).toHaveLength(3);
      for (const run of timeline) {
        expect(run.dropped).toBe(0);
        const byNode = new Map<string, [number, number][]>();
        for (const s of run.spans) (byNode.get(s.node) ?? byNode.set(s.node, []).get(s.node)!).push([...s.units]);
        expect([...byNode.keys()].sort()).toEqual([...units.keys()].sort());
        for (const [node, ranges] of byNode) {
          // Sorted, the ranges tile [0, units) with no gap and no overlap.
          ranges.sort((a, b) => a[0] - b[0]);
          expect(ranges[0][0]).toBe(0);
          for (let k = 1; k < ranges.length; k++) expect(ranges[k][0]).toBe(ranges[k - 1][1]);
          expect(ranges[ranges.length - 1][1]).toBe(units.get(node));
        }
        // The calling thread and the two workers (one of them may have found every chunk taken).
        expect(run.spans.every((s) => [-1, 0, 1].includes(s.thread))).toBe(true);
      }
    });
  }

  it('spans lie within their run, in time order per thread, without overlapping', async () => {
    const { timeline } = await recordRuns('sharing', seedCnn({ batch: 3, seed: 7 }), 3);
    for (const run of timeline) {
      for (const thread of [-1, 0, 1]) {
        const spans = run.spans.filter((s) => s.thread === thread);
        for (const [k, s] of spans.entries()) {
          expect(s.start).toBeLessThanOrEqual(s.end);
          // Clocks of different threads agree to within microseconds: allow 0.05 ms.
          expect(s.start).toBeGreaterThanOrEqual(run.start - 0.05);
          expect(s.end).toBeLessThanOrEqual(run.end + 0.05);
          if (k > 0) expect(s.start).toBeGreaterThanOrEqual(spans[k - 1].end - 0.05);
        }
      }
    }
  });

  it('when the calling thread only waits, every span is a worker\'s', async () => {
    const { timeline } = await recordRuns('waiting', seedCnn({ batch: 3, seed: 7 }), 2);
    expect(timeline).toHaveLength(2);
    for (const run of timeline) {
      expect(run.spans.length).toBeGreaterThan(0);
      expect(run.spans.every((s) => s.thread === 0 || s.thread === 1)).toBe(true);
    }
  });

  it('records nothing without the option, and a taken timeline is empty until the next run', async () => {
    const { timeline } = await recordRuns('plain', seedCnn({ batch: 3, seed: 7 }), 2);
    expect(timeline).toEqual([]);
    expect(await backends.sharing.takeTimeline()).toEqual([]);
  });
});
