/**
 * Epilogues taken at compile (backend-cpu's epilogues.ts): which bias_add / relu / relu6 steps a
 * conv or matmul takes into its GEMM epilogue, which it must leave (another reader, a bias
 * computed by a node, an output of the graph), and the same bits with and without, on random
 * conformance graphs and on the seed CNN, on the cpu and workers backends.
 */
import { CpuBackend } from '@tessera/backend-cpu';
import { CPU_KERNELS, compileProgram, compileOptionsFor, type CpuKernel } from '@tessera/backend-cpu/kernels';
import { createWorkersBackend } from '@tessera/backend-workers';
import { graphArbitrary } from '@tessera/conformance';
import { GraphBuilder, Tensor, prng, type Graph } from '@tessera/core';
import { createContainer, createSession, planExecution, registerBackend } from '@tessera/runtime';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { bitsOf, runOnce } from './helpers/bits.js';
import { seedCnn } from '@tessera/examples';

const SEED = process.env.TESSERA_SEED !== undefined ? Number(process.env.TESSERA_SEED) : 20_261_207;
const container = createContainer();
registerBackend(container, 'cpu', () => new CpuBackend());
registerBackend(container, 'cpu-each', () => new CpuBackend({ epilogues: false }));
registerBackend(container, 'cpu-js', () => new CpuBackend({ gemm: 'js' }));
registerBackend(container, 'cpu-js-each', () => new CpuBackend({ gemm: 'js', epilogues: false }));
const workers = createWorkersBackend({ threads: 1, inlineCost: 0, minPartCost: 0, inlineGraphCost: 0 });
registerBackend(container, 'workers', () => workers);
afterAll(() => workers.dispose());

const random = (n: number, seed: number) => {
  const r = prng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
};
const kernels = new Map(CPU_KERNELS.map((k) => [k.op, k as CpuKernel]));

/** The kernels of the steps the cpu backend compiles a graph to, in order. */
function stepKernels(graph: Graph): string[] {
  return compileProgram(planExecution(graph), (op) => kernels.get(op), 'cpu', compileOptionsFor(true, {})).steps.map((s) => s.kernel);
}

const outputsOn = async (backend: string, graph: Graph, feeds: Record<string, Float32Array>) => (await runOnce(backend, graph, feeds, container)).outputs;

describe('epilogues taken at compile', () => {
  const conv = (b: GraphBuilder, x: ReturnType<GraphBuilder['input']>) =>
    b.conv2d(x, b.constant('w', new Tensor([3, 3, 4, 8], random(288, 1))), { name: 'conv', padding: 'SAME' });
  const bias = (b: GraphBuilder) => b.constant('bias', new Tensor([8], random(8, 2)));

  it('a conv takes the bias_add and relu / relu6 that only read it; a depthwise conv the same; a matmul its bias_add', () => {
    for (const act of ['relu', 'relu6'] as const) {
      const b = new GraphBuilder('taken');
      const y = b.biasAdd(conv(b, b.input('x', [1, 6, 6, 4])), bias(b));
      expect(stepKernels(b.build({ y: act === 'relu' ? b.relu(y) : b.relu6(y) }))).toEqual(['conv2d']);
    }
    const dw = new GraphBuilder('depthwise');
    const w = dw.constant('w', new Tensor([3, 3, 8, 1], random(72, 4)));
    const z = dw.biasAdd(dw.depthwiseConv2d(dw.input('x', [1, 6, 6, 8]), w, { strides: [1, 1], padding: 'SAME' }), bias(dw));
    expect(stepKernels(dw.build({ y: dw.relu6(z) }))).toEqual(['depthwise_conv2d']);
    const m = new GraphBuilder('dense');
    const d = m.biasAdd(m.matmul(m.input('x', [5, 16]), m.constant('w', new Tensor([16, 8], random(128, 3)))), bias(m));
    expect(stepKernels(m.build({ y: m.relu(d) }))).toEqual(['matmul']);
  });

  it('it leaves them where the conv output has another reader, the bias comes from a node, or the bias_add output is a graph output', () => {
    const twoReaders = new GraphBuilder('two-readers');
    const c1 = conv(twoReaders, twoReaders.input('x', [1, 6, 6, 4]));
    expect(stepKernels(twoReaders.build({ y: twoReaders.relu(twoReaders.biasAdd(c1, bias(twoReaders))), z: twoReaders.relu6(c1) })).sort()).toEqual(['bias_add', 'conv2d', 'relu', 'relu6']);

    const computedBias = new GraphBuilder('computed-bias');
    const x = computedBias.input('x', [1, 6, 6, 4]);
    const c2 = conv(computedBias, x);
    const nodeBias = computedBias.relu(computedBias.input('b', [8]));
    expect(stepKernels(computedBias.build({ y: computedBias.biasAdd(c2, nodeBias) }))).toEqual(['conv2d', 'relu', 'bias_add']);

    const outputBias = new GraphBuilder('output-bias');
    const y = outputBias.biasAdd(conv(outputBias, outputBias.input('x', [1, 6, 6, 4])), bias(outputBias));
    expect(stepKernels(outputBias.build({ y, z: outputBias.relu(y) }))).toEqual(['conv2d', 'relu']);
  });

  it('the seed CNN at batch 32 gives the same bits with its epilogues taken as with every node on its own kernel (wasm and TypeScript GEMM)', async () => {
    const graph = seedCnn({ batch: 32 });
    const feeds = { [graph.inputs[0].name]: random(32 * 28 * 28, 9) };
    expect(stepKernels(graph).filter((k) => k === 'bias_add' || k === 'relu')).toEqual([]);
    for (const [taken, each] of [['cpu', 'cpu-each'], ['cpu-js', 'cpu-js-each']]) {
      const [a, b] = [await outputsOn(taken, graph, feeds), await outputsOn(each, graph, feeds)];
      for (const name of Object.keys(a)) expect(bitsOf(a[name])).toEqual(bitsOf(b[name]));
    }
  });

  it('sessions report which node runs each taken node (cpu and workers), and none without epilogues', async () => {
    const graph = seedCnn({ batch: 2 });
    const expected = new Map([['conv1/bias_add', 'conv1'], ['conv1/relu', 'conv1'], ['fc/bias_add', 'fc']]);
    for (const [backend, taken] of [['cpu', expected], ['workers', expected], ['cpu-each', new Map()]] as const) {
      const session = await createSession(graph, { backend, container });
      try {
        await session.run({ x: random(2 * 28 * 28, 5) });
        expect(new Map(session.stats.epilogues), backend).toEqual(taken);
      } finally {
        session.dispose();
      }
    }
  });

  it('random conformance graphs of convs, depthwise convs, matmuls, biases and activations give the same bits with epilogues taken (cpu, workers with every step split) as with every node on its own kernel', async () => {
    let taken = 0;
    await fc.assert(
      fc.asyncProperty(graphArbitrary({ ops: ['conv2d', 'depthwise_conv2d', 'matmul', 'bias_add', 'relu', 'relu6', 'maxpool', 'add', 'reshape'] }), async (c) => {
        if (stepKernels(c.graph).length < c.graph.nodes.filter((n) => n.op !== 'reshape').length) taken++;
        const each = await outputsOn('cpu-each', c.graph, c.feeds);
        for (const backend of ['cpu', 'workers']) {
          const taken = await outputsOn(backend, c.graph, c.feeds);
          for (const name of Object.keys(each)) expect(bitsOf(taken[name])).toEqual(bitsOf(each[name]));
        }
      }),
      { numRuns: 40, seed: SEED },
    );
    // Some of the graphs had an epilogue to take (else this property says nothing).
    expect(taken).toBeGreaterThan(10);
  }, 120_000);
});
