/** The workers backend's cost model: which steps stay on the main thread and how the others split. */
import { compileProgram, cpuKernel, type Step } from '@tessera/backend-cpu/kernels';
import {
  MAIN, WASM_GEMM_WEIGHT, SIMD_DEPTHWISE_WEIGHT, chainSpans, chainSteps, chainTiles, chainWork, chunkBounds, evenChunks, guidedChunks, LEAST_CHUNK_DIVISOR, partitionStep, predictedWall, stepCost, type PartitionOptions,
} from '@tessera/backend-workers';
import { GraphBuilder, randomTensor, type Graph } from '@tessera/core';
import { workload, workloadGraph } from '@tessera/examples';
import { planExecution } from '@tessera/runtime';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mobilenetBlock } from './helpers/mobilenet-block.js';

const step = (units: number, costPerUnit: number): Step => ({ kernel: 'conv2d', node: 'n', units, costPerUnit });
const opts = (o: Partial<PartitionOptions> = {}): PartitionOptions => ({ threads: 2, mainShare: false, inlineCost: 60_000, minPartCost: 40_000, ...o });

function covers(parts: { start: number; end: number }[], units: number): boolean {
  return parts[0].start === 0 && parts[parts.length - 1].end === units && parts.every((p, i) => p.start < p.end && (i === 0 || parts[i - 1].end === p.start));
}

describe('partitionStep', () => {
  it('keeps cheap steps on the main thread', () => {
    expect(partitionStep(step(100, 10), opts())).toEqual([{ worker: MAIN, start: 0, end: 100 }]);
  });

  it('splits a costly step into contiguous ranges, one per worker, aligned to whole row tiles', () => {
    const parts = partitionStep(step(1001, 576), opts({ threads: 3 }));
    expect(parts.map((p) => p.worker)).toEqual([0, 1, 2]);
    expect(covers(parts, 1001)).toBe(true);
    for (const p of parts.slice(0, -1)) expect(p.end % 4).toBe(0);
    const sizes = parts.map((p) => p.end - p.start);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(8);
  });

  it('does not make parts cheaper than minPartCost', () => {
    const s = step(1000, 97); // cost 100 000: two parts of 50 000 at most
    expect(stepCost(s)).toBe(100_000);
    expect(partitionStep(s, opts({ threads: 8 })).length).toBe(2);
  });

  it('leaves a step with a single unit on the main thread, or on the only worker of a one-worker pool', () => {
    expect(partitionStep(step(1, 1_000_000), opts())).toEqual([{ worker: MAIN, start: 0, end: 1 }]);
    expect(partitionStep(step(1, 1_000_000), opts({ threads: 1 }))).toEqual([{ worker: 0, start: 0, end: 1 }]);
  });

  it('gives the main thread the last part when it shares the work', () => {
    const parts = partitionStep(step(4096, 1000), opts({ mainShare: true }));
    expect(parts.map((p) => p.worker)).toEqual([0, 1, MAIN]);
    expect(covers(parts, 4096)).toBe(true);
  });

  it('weighs a wasm GEMM step by WASM_GEMM_WEIGHT and splits it on whole 5-row wasm tiles', () => {
    const wasm = { ...step(1001, 1200), wasm: true } as Step;
    expect(stepCost(wasm)).toBeCloseTo(1001 * (1200 * WASM_GEMM_WEIGHT + 3));
    expect(stepCost(wasm)).toBeLessThan(stepCost(step(1001, 1200)) / 5);
    const parts = partitionStep(wasm, opts({ inlineCost: 0, minPartCost: 1 }));
    expect(parts.map((p) => p.worker)).toEqual([0, 1]);
    expect(covers(parts, 1001)).toBe(true);
    expect(parts[0].end % 5).toBe(0);
    // The same work that splits on the TypeScript GEMM stays inline on the wasm one.
    expect(partitionStep({ ...step(100, 1000), wasm: true } as Step, opts())).toEqual([{ worker: MAIN, start: 0, end: 100 }]);
    expect(partitionStep(step(100, 1000), opts()).length).toBe(2);
  });
});

describe('a dense layer on a few rows', () => {
  it('compiles to column blocks of whole packed panels, which split between the threads (a batch of 8 rows stays row-wise)', () => {
    const dense = (rows: number) => {
      const g = new GraphBuilder('dense');
      return g.build({ y: g.matmul(g.input('x', [rows, 2048]), g.constant('w', randomTensor([2048, 1000], 1))) });
    };
    const [one] = compileProgram(planExecution(dense(1)), cpuKernel, 'cpu', { gemm: 'wasm' }).steps;
    expect(one.kernel).toBe('matmul_columns');
    expect(((one as Step & { columns: number }).columns) % 8).toBe(0); // whole 8-column wasm panels
    expect(one.units * (one as Step & { columns: number }).columns).toBeGreaterThanOrEqual(1000);
    // Its chunks are any number of blocks (the 5-row alignment of row-wise wasm steps does not apply).
    expect(chainWork([one], true, null).align).toBe(1);
    expect(chunkBounds(chainWork([one], true, null), 2).bounds.some((b) => b % 5 !== 0)).toBe(true);
    const parts = partitionStep(one, opts({ threads: 1, mainShare: true, inlineCost: 30_000, minPartCost: 15_000, simd: true }));
    expect(parts.map((p) => p.worker)).toEqual([0, MAIN]);
    expect(covers(parts, one.units)).toBe(true);
    expect(compileProgram(planExecution(dense(8)), cpuKernel, 'cpu', { gemm: 'wasm' }).steps[0].kernel).toBe('matmul');
  });
});

describe('guidedChunks', () => {
  it('property: chunks cover the units in order, aligned, none but the last below 1/(LEAST_CHUNK_DIVISOR x participants), shrinking but the last, which takes a tail shorter than the alignment', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 800 }), fc.integer({ min: 1, max: 8 }), (units, align, participants) => {
        const b = guidedChunks(units, align, participants);
        expect(b[0]).toBe(0);
        expect(b[b.length - 1]).toBe(units);
        const sizes = b.slice(1).map((x, i) => x - b[i]);
        const least = Math.max(align, Math.ceil(units / (LEAST_CHUNK_DIVISOR * participants) / align) * align);
        sizes.forEach((size, i) => {
          expect(size).toBeGreaterThan(0);
          if (i < sizes.length - 1) {
            expect(b[i + 1] % align).toBe(0);
            expect(size).toBeGreaterThanOrEqual(least);
          }
          if (i < sizes.length - 2) expect(size).toBeGreaterThanOrEqual(sizes[i + 1]);
        });
        // The last: a tail shorter than `align` was merged into it, so it exceeds the one before by less than `align`.
        if (sizes.length >= 2) expect(sizes[sizes.length - 1]).toBeLessThan(sizes[sizes.length - 2] + align);
        // Few claims: the sizes halve towards `least`, so their count grows with log(participants), not with units.
        expect(sizes.length).toBeLessThanOrEqual(Math.ceil(units / least));
        expect(sizes.length).toBeLessThanOrEqual(LEAST_CHUNK_DIVISOR * participants + 1);
      }),
    );
  });

  it('a chunk that re-reads weights is at least atLeast units, as long as every participant still gets one', () => {
    // W1-b32's matmul (32 rows, 5-row tiles) asking for 24: capped at an aligned half, 15 (the last 2 rows join the last chunk).
    expect(guidedChunks(32, 5, 2, 24)).toEqual([0, 15, 32]);
    expect(guidedChunks(1000, 10, 2, 100)).toEqual([0, 250, 440, 580, 690, 790, 890, 990, 1000]);
  });

  it('W1-b32 on two threads: each chunk is half an even share of what is left (32/4, 24/4, 18/4 up, ...) down to 1 image', () => {
    expect(guidedChunks(32, 1, 2)).toEqual([0, 8, 14, 19, 23, 26, 28, 29, 30, 31, 32]);
  });
});

describe('stepCost on the wasm path', () => {
  it('weighs a depthwise step of multiplier 1 by SIMD_DEPTHWISE_WEIGHT where the program runs on the wasm path (its SIMD loop), not elsewhere', () => {
    const dw = (multiplier: number) => ({ kernel: 'depthwise_conv2d', node: 'd', units: 196, costPerUnit: 9 * 576, multiplier }) as Step;
    expect(stepCost(dw(1), true)).toBeCloseTo(196 * (9 * 576 * SIMD_DEPTHWISE_WEIGHT + 3));
    expect(stepCost(dw(1), false)).toBe(196 * (9 * 576 + 3));
    expect(stepCost(dw(2), true)).toBe(196 * (9 * 576 + 3)); // the TypeScript loop
    expect(stepCost(step(196, 1000), true)).toBe(stepCost(step(196, 1000), false)); // not a depthwise step
  });
});

describe('chunkBounds', () => {
  const work = (units: number, align: number, cost: number, reread = 0) => ({ units, align, cost, reread });

  it('property: predictedWall is at least an even share plus one re-read, and at most the whole step plus the lag', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 2, max: 4 }), fc.double({ min: 0, max: 1, noNaN: true }), (units, align, participants, late) => {
        const w = work(units, align, units * 100, 50);
        const bounds = guidedChunks(units, align, participants);
        const wall = predictedWall(bounds, w, participants, late * w.cost);
        const chunks = bounds.length - 1;
        expect(wall).toBeGreaterThanOrEqual(Math.min(w.cost / participants, w.cost / chunks) + w.reread - 1e-6);
        expect(wall).toBeLessThanOrEqual(w.cost + chunks * w.reread + late * w.cost + 1e-6);
      }),
    );
  });

  it('a 7x7 layer (49 rows, 5-row tiles) that guided chunking cuts into 20, 20 and 9 rows is cut evenly into 25 and 24: both threads end together', () => {
    const w = work(49, 5, 49 * 30_000, 200_000); // ResNet-50's conv5 1x1 conv: re-reads 200k of weights per chunk
    expect(guidedChunks(49, 5, 2, 200_000 / (0.1 * 30_000))).toEqual([0, 20, 40, 49]);
    expect(chunkBounds(w, 2)).toEqual({ bounds: [0, 25, 49], even: true });
    expect(predictedWall([0, 25, 49], w, 2, 0)).toBeLessThan(predictedWall([0, 20, 40, 49], w, 2, 0));
  });

  it('a step guided chunking cuts finely keeps its guided chunks (they adapt to a late thread and keep tiles in cache)', () => {
    const w = work(3136, 5, 3136 * 4000);
    expect(chunkBounds(w, 2)).toEqual({ bounds: guidedChunks(3136, 5, 2), even: false });
  });

  it('evenChunks: n aligned chunks of about the same size, or null when some would be empty', () => {
    expect(evenChunks(49, 5, 2)).toEqual([0, 25, 49]);
    expect(evenChunks(49, 5, 4)).toEqual([0, 10, 25, 35, 49]);
    expect(evenChunks(8, 5, 4)).toBeNull();
  });

  it('a depthwise step heading 1x1 convs cuts on their 5-row wasm tiles', () => {
    const dw = { kernel: 'depthwise_conv2d', node: 'd', units: 196, costPerUnit: 9 * 576, multiplier: 1 } as Step;
    const pw = { kernel: 'conv2d', node: 'p', units: 196, costPerUnit: 576 * 96, wasm: true, g: { kH: 1, kW: 1, strideH: 1, strideW: 1 } } as unknown as Step;
    expect(chainWork([dw], true, null).align).toBe(4);
    expect(chainWork([dw, pw], true, null).align).toBe(5);
    expect(chainWork([dw, pw], true, 49).align).toBe(49); // item-wise: whole items
  });
});

describe('chainTiles', () => {
  const conv = [{ offset: 4096, floats: 32 * 28 * 28 * 64 }]; // W1-b32's conv2d output
  it('W1-b32 on two threads: a tile per participant as wide as the largest chunk (8 images)', () => {
    expect(chainTiles(conv, guidedChunks(32 * 784, 784, 2), 2)).toEqual({ regions: conv, units: 32 * 784, chunk: 8 * 784, slots: 2 });
  });
  it('none where the participants\' tiles do not fit in the value, or a chunk does not start on a whole float', () => {
    const bounds = guidedChunks(32 * 784, 784, 5); // the first chunk: 32/10 up = 4 images; 5 tiles of 4 fit in 32
    expect(chainTiles(conv, bounds, 5)?.chunk).toBe(4 * 784);
    expect(chainTiles(conv, bounds, 9)).toBeNull(); // 9 x 4 images > 32
    expect(chainTiles([{ offset: 0, floats: 10 }], [0, 3, 7], 2)).toBeNull(); // 3 x 10 / 7 floats
    expect(chainTiles(null, bounds, 2)).toBeNull();
  });
});

describe('chainSteps', () => {
  const split = opts({ inlineCost: 100_000, minPartCost: 50_000 });
  function chainsOf(id: string, convsOnly = false) {
    const w = workload(id);
    // W3's three convs without the block's shortcut (add_input), as the chains below were measured.
    const graph = workloadGraph(convsOnly && 'layers' in w ? { ...w, layers: w.layers.filter((l) => l.op === 'conv2d') } : w);
    const plan = planExecution(graph);
    const program = compileProgram(plan, cpuKernel, 'cpu', { gemm: 'wasm' });
    const parts = program.nodeSteps.map((s) => s && partitionStep(s, split));
    return { graph, plan, ...chainSteps(graph, program.nodeSteps, parts, plan, true) };
  }
  const region = (plan: ReturnType<typeof planExecution>, v: string) => {
    const loc = plan.locate(v);
    return loc.kind === 'arena' ? [loc.buffer.offset, loc.buffer.offset + loc.buffer.size] : null;
  };

  it('chains element-wise steps (and a 1x1 conv2d) after a split step, and never over memory the chain reads', () => {
    for (const id of ['W1-b32', 'W3']) {
      const { graph, plan, followers, chained } = chainsOf(id);
      followers.forEach((list, i) => {
        if (!list) return;
        const reads = [graph.nodes[i], ...list.map((j) => graph.nodes[j])].flatMap((n) => n.inputs.map((v) => region(plan, v)).filter((r) => r !== null));
        for (const j of list) {
          expect(chained[j]).toBe(true);
          const pointwise = graph.nodes[j].op === 'conv2d' && graph.value(graph.nodes[j].inputs[1]).shape.slice(0, 2).join() === '1,1';
          if (!pointwise) expect(['bias_add', 'relu']).toContain(graph.nodes[j].op);
          const [ys, ye] = region(plan, graph.nodes[j].name)!;
          const inPlace = (r: number[]) => r[0] === ys && r[1] === ye;
          // Written memory: its own input in place, or nothing any member of the chain reads.
          for (const r of reads) if (!inPlace(r)) expect(r![1] <= ys || ye <= r![0], `${id}: ${graph.nodes[j].name}`).toBe(true);
        }
      });
    }
  });

  it('W3 (its convs): every conv2d -> bias_add (-> relu) chains in place; the 1x1 l2_conv2d follows the 3x3 l1_conv2d row-wise, the 3x3 l1 does not follow l0 (it reads neighbouring rows)', () => {
    const { graph, followers, apart } = chainsOf('W3', true);
    const named = followers.map((f, i) => (f ? [graph.nodes[i].name, f.map((j) => graph.nodes[j].name)] : null)).filter((x) => x);
    expect(named).toEqual([
      ['l0_conv2d', ['l0_conv2d/bias_add', 'l0_conv2d/relu']],
      ['l1_conv2d', ['l1_conv2d/bias_add', 'l1_conv2d/relu', 'l2_conv2d', 'l2_conv2d/bias_add']],
    ]);
    // Only the chain with a follower writing memory of its own asks the plan to keep its values apart.
    expect(graph.nodes.filter((_, i) => apart[i]).map((n) => n.name)).toEqual(['l1_conv2d']);
  });

  /** As the backend plans it: chains by kernels and shapes first, then a plan keeping each item-wise chain's values apart. */
  function itemChainsOf(graph: Graph, o = opts({ inlineCost: 100_000, minPartCost: 50_000, threads: 1, mainShare: true })) {
    const first = compileProgram(planExecution(graph), cpuKernel, 'cpu', { gemm: 'wasm' });
    const spans = chainSpans(chainSteps(graph, first.nodeSteps, first.nodeSteps.map((st) => st && partitionStep(st, o)), null, true));
    const plan = planExecution(graph, { together: spans });
    const program = compileProgram(plan, cpuKernel, 'cpu', { gemm: 'wasm' });
    return { spans, plan, ...chainSteps(graph, program.nodeSteps, program.nodeSteps.map((st) => st && partitionStep(st, o)), plan, true) };
  }

  /** Ops chained after the graph's first node when every step splits. */
  const followingOps = (graph: Graph): string[] => {
    const { followers } = itemChainsOf(graph, opts({ inlineCost: 0, minPartCost: 1 }));
    return (followers[0] ?? []).map((j) => graph.nodes[j].op);
  };

  it('row-wise followers: an MLP runs as one chain (matmul -> bias_add -> relu -> matmul); not with a transposed a, nor a 1x1 conv2d with stride 2', () => {
    // 256 rows: enough that the second matmul's smallest chunk (1/(LEAST_CHUNK_DIVISOR x 2) of
    // its rows) computes more than it re-reads of its weights (rereadCost).
    const mlp = (transposeA: boolean) => {
      const g = new GraphBuilder('mlp');
      const x = g.input('x', [256, 32]);
      const h = g.relu(g.biasAdd(g.matmul(x, g.constant('w1', randomTensor([32, 256], 1))), g.constant('b1', randomTensor([256], 2))));
      // transposed: a^T of the square h has the same shape, but the output's rows are h's columns.
      return g.build({ y: g.matmul(h, g.constant('w2', randomTensor([256, 16], 3)), { transposeA }) });
    };
    const convs = (stride: number) => {
      const g = new GraphBuilder('convs');
      const c = g.conv2d(g.input('x', [1, 16, 16, 8]), g.constant('f', randomTensor([3, 3, 8, 8], 1)), { strides: [1, 1], padding: 'SAME' });
      return g.build({ y: g.conv2d(c, g.constant('p', randomTensor([1, 1, 8, 32], 2)), { strides: [stride, stride], padding: 'VALID' }) });
    };
    expect(followingOps(mlp(false))).toEqual(['bias_add', 'relu', 'matmul']);
    expect(followingOps(mlp(true))).toEqual(['bias_add', 'relu']);
    expect(followingOps(convs(1))).toEqual(['conv2d']);
    expect(followingOps(convs(2))).toEqual([]);
  });

  it('W1-b32: conv2d -> bias_add -> relu -> maxpool run as one item-wise chain on whole images; the 12544 x 10 matmul, which would re-read its weights for every image, runs as a step of its own', () => {
    const graph = workloadGraph(workload('W1-b32'));
    const { followers, grains, spans, plan } = itemChainsOf(graph);
    const head = graph.nodes.findIndex((n) => n.op === 'conv2d');
    const matmul = graph.nodes.findIndex((n) => n.op === 'matmul');
    expect(followers[head]!.map((j) => graph.nodes[j].op)).toEqual(['bias_add', 'relu', 'maxpool']);
    expect(spans).toEqual([[head, graph.nodes.findIndex((n) => n.op === 'maxpool')]]);
    expect(grains[head]).toBe(28 * 28); // conv units (output pixels) per image
    expect(followers[matmul]!.map((j) => graph.nodes[j].op)).toEqual(['bias_add']);
    // Memory: every value the chain writes is apart from everything else it touches, except in place.
    const buffers = new Map(graph.nodes.map((n) => [n.name, region(plan, n.name)]));
    const x = region(plan, 'x')!;
    for (const [name, r] of buffers) if (r && !graph.nodes.find((n) => n.name === name && n.op === 'reshape')) expect(r[1] <= x[0] || x[1] <= r[0], name).toBe(true);
  });

  it('W1-b32: the chain keeps the memory of conv2d, bias_add and relu (in place) per participant; maxpool, its last member, writes its output whole', () => {
    const graph = workloadGraph(workload('W1-b32'));
    const { tiles, plan } = itemChainsOf(graph);
    const head = graph.nodes.findIndex((n) => n.op === 'conv2d');
    const conv = region(plan, graph.nodes[head].name)!;
    for (const op of ['bias_add', 'relu']) expect(region(plan, graph.nodes.find((n) => n.op === op)!.name)).toEqual(conv);
    expect(tiles[head]).toEqual([{ offset: conv[0], floats: 32 * 28 * 28 * 64 }]);
    expect(tiles.filter((t) => t !== null)).toHaveLength(1);
  });

  it('a value read outside its chain (a graph output, or a consumer after the chain) is not kept per participant; the others still are', () => {
    const build = (read: 'output' | 'consumer' | 'none') => {
      const g = new GraphBuilder('t');
      const c = g.conv2d(g.input('x', [8, 16, 16, 4]), g.constant('f', randomTensor([3, 3, 4, 32], 1)), { strides: [1, 1], padding: 'SAME' });
      const r = g.relu(g.biasAdd(c, g.constant('b', randomTensor([32], 2))));
      const p = g.maxpool(r, { ksize: [2, 2], strides: [2, 2], padding: 'VALID' });
      const q = g.maxpool(p, { ksize: [2, 2], strides: [2, 2], padding: 'VALID' });
      if (read === 'output') return g.build({ y: q, h: r });
      if (read === 'consumer') return g.build({ y: q, z: g.matmul(g.reshape(p, [8, 2048]), g.constant('w', randomTensor([2048, 4], 3))) });
      return g.build({ y: q });
    };
    const kept = (graph: Graph) => {
      const { tiles, followers, plan } = itemChainsOf(graph, opts({ inlineCost: 0, minPartCost: 1 }));
      expect(followers[0]!.map((j) => graph.nodes[j].op)).toEqual(['bias_add', 'relu', 'maxpool', 'maxpool']);
      const named = new Map(graph.nodes.slice(0, 5).map((n) => [region(plan, n.name)?.[0], n.op])); // the chain's members
      return (tiles[0] ?? []).map((t) => named.get(t.offset));
    };
    // The conv's memory holds bias_add and relu in place (the last of them named); the first maxpool's is its own.
    expect(kept(build('none'))).toEqual(['relu', 'maxpool']);
    expect(kept(build('output'))).toEqual(['maxpool']);
    expect(kept(build('consumer'))).toEqual(['relu']);
  });

  it('a chain headed by an element-wise step in place on its input (read from before the chain) keeps that memory whole', () => {
    // Found by the tiles property (seed 20261128): the 1x1 conv runs inline, bias_add heads the chain.
    const g = new GraphBuilder('t');
    const c = g.conv2d(g.input('x', [2, 3, 3, 1]), g.constant('f', randomTensor([1, 1, 1, 7], 1)), { strides: [1, 1], padding: 'SAME' });
    const graph = g.build({ y: g.maxpool(g.biasAdd(c, g.constant('b', randomTensor([7], 2))), { ksize: [1, 1], strides: [1, 1], padding: 'SAME' }) });
    const { followers, tiles, plan } = itemChainsOf(graph, opts({ inlineCost: 500, minPartCost: 200, threads: 1, mainShare: true }));
    const bias = graph.nodes.findIndex((n) => n.op === 'bias_add');
    expect(followers[0]).toBeNull();
    expect(followers[bias]!.map((j) => graph.nodes[j].op)).toEqual(['maxpool']);
    expect(region(plan, graph.nodes[bias].name)).toEqual(region(plan, graph.nodes[0].name)); // in place
    expect(tiles[bias]).toBeNull();
  });

  it('a batch of 1 has no item-wise chain, and the session plan (no spans) chains element-wise steps only', () => {
    expect(itemChainsOf(workloadGraph(workload('W1-b1'))).spans).toEqual([]);
    const { followers, graph } = chainsOf('W1-b32');
    for (const list of followers) for (const j of list ?? []) expect(['bias_add', 'relu']).toContain(graph.nodes[j].op);
  });

  it('a matmul whose rank-2 a is transposed is not item-wise (its rows are columns of a)', () => {
    const build = (transposeA: boolean) => {
      // 256 images: enough rows that the matmul's smallest chunk computes more than it re-reads.
      const g = new GraphBuilder('t');
      const x = g.input('x', [256, 32, 32, 4]);
      const f = g.constant('f', randomTensor([3, 3, 4, 64], 1));
      const c = g.conv2d(x, f, { strides: [16, 16], padding: 'VALID' }); // [256, 2, 2, 64]
      const flat = g.reshape(c, [256, 256]); // square: a and a^T have the same leading dimension
      const w = g.constant('w', randomTensor([256, 5], 2));
      return g.build({ y: g.matmul(flat, w, { transposeA }) });
    };
    expect(followingOps(build(false))).toEqual(['matmul']);
    expect(followingOps(build(true))).toEqual([]);
  });

  it('MobileNet block, batch 1: the expand conv chains batch_norm -> relu6; the depthwise step heads a row-wise chain to the residual add (batch_norm, relu6, the 1x1 project conv, batch_norm, add)', () => {
    for (const fused of [false, true]) {
      const graph = mobilenetBlock({ batch: 1, size: 16, channels: 16, expansion: 6, fused });
      const { followers, spans } = itemChainsOf(graph, opts({ inlineCost: 0, minPartCost: 1 }));
      const chains = followers.flatMap((list, i) => (list ? [[graph.nodes[i].op, ...list.map((j) => graph.nodes[j].op)]] : []));
      expect(chains, `fused ${fused}`).toEqual(
        fused
          ? [['conv2d', 'bias_add', 'relu6'], ['depthwise_conv2d', 'conv2d', 'bias_add', 'add'].map((op, k) => (k === 0 ? 'fused_depthwise_conv2d' : op))]
          : [['conv2d', 'batch_norm', 'relu6'], ['depthwise_conv2d', 'batch_norm', 'relu6', 'conv2d', 'batch_norm', 'add']],
      );
      expect(spans.length).toBe(1); // the add (and the 1x1 conv) write memory of their own: the plan keeps that chain apart
    }
  });

  it('MobileNet block, batch 2: one item-wise chain from the expand conv to the residual add, on whole images', () => {
    const graph = mobilenetBlock({ batch: 2, size: 16, channels: 16, expansion: 6 });
    const { followers, grains } = itemChainsOf(graph, opts({ inlineCost: 0, minPartCost: 1 }));
    expect(followers[0]!.map((j) => graph.nodes[j].op)).toEqual(['batch_norm', 'relu6', 'depthwise_conv2d', 'batch_norm', 'relu6', 'conv2d', 'batch_norm', 'add']);
    expect(grains[0]).toBe(16 * 16);
  });

  it('item-wise followers only where units keep the items apart: not a mean over axis 0 or an add of a lower-rank operand 0, although their leading dimension equals the batch', () => {
    /** Ops chained after a batch-2 3x3 conv2d [2, 2, 8, 8] followed by `next`. */
    const after = (next: (g: GraphBuilder, c: ReturnType<GraphBuilder['conv2d']>) => ReturnType<GraphBuilder['conv2d']>) => {
      const g = new GraphBuilder('t');
      const c = g.conv2d(g.input('x', [2, 2, 8, 3]), g.constant('f', randomTensor([3, 3, 3, 8], 1)), { padding: 'SAME' });
      return followingOps(g.build({ y: next(g, c) }));
    };
    expect(after((g, c) => g.mean(c, { axes: [1, 2] }))).toEqual(['mean']);
    expect(after((g, c) => g.mean(c, { axes: [-4] }))).toEqual([]); // [2, 8, 8]: its 2 is not the batch
    expect(after((g, c) => g.pad(c, { paddings: [[0, 0], [1, 1], [0, 0], [0, 2]] }))).toEqual(['pad']);
    expect(after((g, c) => g.concat([c, g.constant('k', randomTensor([2, 2, 8, 2], 2))], { axis: -1 }))).toEqual(['concat']);
    expect(after((g, c) => g.softmax(c))).toEqual(['softmax']);
    expect(after((g, c) => g.avgPool(c, { ksize: [2, 2], strides: [2, 2], padding: 'VALID' }))).toEqual(['avg_pool']);
    // add / mul: element-wise followers when operand 0 has the output's shape, whatever the other operand.
    expect(after((g, c) => g.mul(c, g.constant('k', randomTensor([8], 2))))).toEqual(['mul']);
    // [2, 128] + [2, 2, 128]: operand 0 lines up with axes 1, 2, so every output item reads all of it.
    expect(after((g, c) => g.add(g.reshape(c, [2, 128]), g.constant('k', randomTensor([2, 2, 128], 2))))).toEqual([]);
  });
});
