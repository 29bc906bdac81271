import '@tessera/backend-cpu';
import '@tessera/backend-workers';
import { GraphBuilder, graphFromJson, graphToJson, randomTensor, summarize, evaluate, type Graph } from '@tessera/core';
import { seedCnn } from '@tessera/examples';
import { createSession } from '@tessera/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { disposeBackends } from '@tessera/runtime';

afterAll(() => disposeBackends());

const feedsFor = (batch: number, seed: number) => ({ x: randomTensor([batch, 28, 28, 1], seed).data });

describe('dynamic batch', () => {
  for (const backend of ['cpu', 'workers']) {
    it(`${backend}: one open-batch graph gives the same bits at batch 1, 3 and 8 as three static graphs`, async () => {
      const open = await createSession(seedCnn({ batch: null }), { backend });
      try {
        for (const batch of [1, 3, 8, 3]) {
          const feeds = feedsFor(batch, batch + 10);
          const fixed = await createSession(seedCnn({ batch }), { backend });
          const want = (await fixed.run(feeds)).logits;
          fixed.dispose();
          const got = (await open.run(feeds)).logits;
          expect(got.length).toBe(batch * 10);
          expect(got).toEqual(want);
          expect(open.stats.batch).toBe(batch);
        }
        // Batches 1, 3 and 8 were planned once each (3 was run twice).
        expect(open.stats.plans).toBe(3);
      } finally {
        open.dispose();
      }
    });
  }

  it('the session keeps at most maxPlans batches and plans an evicted batch again, still right', async () => {
    const session = await createSession(seedCnn({ batch: null }), { backend: 'cpu', maxPlans: 2 });
    for (const batch of [2, 3, 4, 5]) await session.run(feedsFor(batch, 1));
    expect(session.stats.plans).toBe(2);
    // A batch evicted earlier is planned again and still right.
    const out = await session.run(feedsFor(2, 7));
    const fixed = await createSession(seedCnn({ batch: 2 }));
    expect(out.logits).toEqual((await fixed.run(feedsFor(2, 7))).logits);
    fixed.dispose();
    session.dispose();
  });

  it('the reference evaluates an open graph at the batch its feeds give', () => {
    const feeds = feedsFor(3, 5);
    const open = evaluate(seedCnn({ batch: null }), feeds).logits;
    const fixed = evaluate(seedCnn({ batch: 3 }), feeds).logits;
    expect(open.shape).toEqual([3, 10]);
    expect([...open.value]).toEqual([...fixed.value]);
  });

  it('shapes, parameters and MACs of an open graph are per item', () => {
    const open = summarize(seedCnn({ batch: null }));
    const one = summarize(seedCnn({ batch: 1 }));
    const four = summarize(seedCnn({ batch: 4 }));
    expect(open.perItem).toBe(true);
    expect(open.totalMacs).toBe(one.totalMacs);
    expect(four.totalMacs).toBe(4 * one.totalMacs);
    expect(open.totalParams).toBe(four.totalParams);
  });

  it('a node that fixes the batch is refused at build time, naming it', () => {
    const g = new GraphBuilder('fixed');
    const x = g.input('x', [null, 4, 4, 2]);
    expect(() => g.build({ y: g.reshape(x, [1, 32], { name: 'flatten' }) })).toThrow(/flatten.*reshape.*at batch 2/);
  });

  it('a graph file keeps the open batch as null', () => {
    const graph = seedCnn({ batch: null });
    const { json } = graphToJson(graph);
    expect(json.inputs[0].shape).toEqual([null, 28, 28, 1]);
    const back: Graph = graphFromJson(JSON.parse(JSON.stringify(json)));
    expect(back.openBatch).toBe(true);
    expect(back.toString()).toContain('%x: [?,28,28,1]');
    expect(() => graphFromJson({ ...json, inputs: [{ name: 'x', shape: [1, null, 28, 1] }] })).toThrow(/only the first dimension \(the batch\) may be null/);
  });

  it('feeds that do not make a whole batch, or disagree on it, are refused by name; bindIO needs a fixed batch', async () => {
    const g = new GraphBuilder('two');
    const a = g.input('a', [null, 3]);
    const b = g.input('b', [null, 3]);
    const graph = g.build({ y: g.add(a, b) });
    const session = await createSession(graph);
    await expect(session.run({ a: new Float32Array(7), b: new Float32Array(6) })).rejects.toThrow(/input 'a' of shape \[\?,3\] needs a positive multiple of 3 values, got 7/);
    await expect(session.run({ a: new Float32Array(6), b: new Float32Array(9) })).rejects.toThrow(/inputs 'a' and 'b' disagree on the batch: 2 and 3/);
    expect((await session.run({ a: new Float32Array(6).fill(1), b: new Float32Array(6).fill(2) })).y).toEqual(new Float32Array(6).fill(3));
    session.dispose();
    await expect(createSession(graph, { bindIO: true })).rejects.toThrow(/bindIO' needs a fixed batch/);
  });
});
