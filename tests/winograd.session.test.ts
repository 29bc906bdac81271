/**
 * Winograd on the cpu backend, seen from sessions: which convs 'auto' takes (and reports in
 * `session.stats.algorithms`), 'off' / false / `--no-winograd` giving the direct algorithm's
 * bits, a NaN / Inf in the input giving the direct conv's non-finite outputs, and the step
 * split over tile ranges as a scheduler runs it (each range with its own scratch) giving the
 * whole step's bits.
 */
import { CpuBackend } from '@tessera/backend-cpu';
import { CPU_KERNELS, Scratch, compileProgram, createWasmArena, loadWasmGemmModule, maxScratch, readOutputs, writeInputs, type CpuKernel, type Memory } from '@tessera/backend-cpu/kernels';
import { GraphBuilder, Tensor, evaluate, prng, algorithmWiden, type Graph, type Padding } from '@tessera/core';
import { createContainer, createSession, planExecution, registerBackend } from '@tessera/runtime';
import { describe, expect, it } from 'vitest';
import { bitsOf, runOnce } from './helpers/bits.js';
import { applyAlgorithmFlags } from '../packages/cli/src/flags.js';

const container = createContainer();
registerBackend(container, 'cpu', () => new CpuBackend());
registerBackend(container, 'cpu-off', () => new CpuBackend({ winograd: 'off' }));
registerBackend(container, 'cpu-false', () => new CpuBackend({ winograd: false }));
registerBackend(container, 'cpu-always', () => new CpuBackend({ winograd: 'always' }));
registerBackend(container, 'cpu-js', () => new CpuBackend({ gemm: 'js' }));

const random = (n: number, seed: number) => {
  const r = prng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
};

/** Convs that 'auto' takes (c1: 3x3 s1, 16 channels, 14x14) or leaves (c2: 5x5; c3: stride 2; c4: 4 channels; c5: 7x7x512, few tiles of a large filter). */
function mixedGraph(): Graph {
  const b = new GraphBuilder('mixed');
  const x = b.input('x', [1, 14, 14, 16]);
  const conv = (name: string, input: ReturnType<typeof b.input>, k: number, cin: number, cout: number, strides: [number, number] = [1, 1]) =>
    b.conv2d(input, b.constant(`${name}_w`, new Tensor([k, k, cin, cout], random(k * k * cin * cout, cin + cout + k))), { name, padding: 'SAME', strides });
  const c1 = conv('c1', x, 3, 16, 16);
  const c2 = conv('c2', c1, 5, 16, 16);
  const c3 = conv('c3', c2, 3, 16, 4, [2, 2]);
  const c4 = conv('c4', c3, 3, 4, 4);
  const y = b.input('y', [1, 7, 7, 512]);
  const c5 = conv('c5', y, 3, 512, 64);
  return b.build({ a: c4, b: c5 });
}

const feedsOf = (g: Graph) => Object.fromEntries(g.inputs.map((v, i) => [v.name, random(v.shape.reduce((p, d) => p * d, 1), 100 + i)]));

const runOn = (backend: string, graph: Graph, feeds: Record<string, Float32Array>) => runOnce(backend, graph, feeds, container);

describe('Winograd on the cpu backend', () => {
  it("'auto' runs the 3x3 stride-1 convs with enough channels and tiles as Winograd, reports exactly those, and stays within the widened bound", async () => {
    const graph = mixedGraph();
    const feeds = feedsOf(graph);
    const { outputs, algorithms } = await runOn('cpu', graph, feeds);
    expect([...algorithms]).toEqual([['c1', 'winograd-f4x4']]);
    const ref = evaluate(graph, feeds, { widen: algorithmWiden(algorithms) });
    for (const name of ['a', 'b']) {
      for (let i = 0; i < ref[name].value.length; i++) expect(Math.abs(outputs[name][i] - ref[name].value[i])).toBeLessThanOrEqual(ref[name].bound[i]);
    }
    // On the TypeScript GEMM 'auto' keeps the direct algorithm (the transforms would cost more than they save there).
    expect((await runOn('cpu-js', graph, feeds)).algorithms.size).toBe(0);
  });

  it("'off', false and --no-winograd run every conv directly: no algorithm reported, the direct algorithm's bits", async () => {
    const graph = mixedGraph();
    const feeds = feedsOf(graph);
    const off = await runOn('cpu-off', graph, feeds);
    const no = await runOn('cpu-false', graph, feeds);
    expect(off.algorithms.size + no.algorithms.size).toBe(0);
    expect(bitsOf(no.outputs.a)).toEqual(bitsOf(off.outputs.a));
    // The direct bits differ from Winograd's (so the comparison above can fail).
    expect(bitsOf((await runOn('cpu', graph, feeds)).outputs.a)).not.toEqual(bitsOf(off.outputs.a));
    const cli = createContainer();
    registerBackend(cli, 'cpu', () => new CpuBackend());
    applyAlgorithmFlags({ winograd: false }, cli);
    const session = await createSession(graph, { backend: 'cpu', container: cli });
    expect(session.stats.algorithms.size).toBe(0);
    expect(bitsOf((await session.run(feeds)).a)).toEqual(bitsOf(off.outputs.a));
    session.dispose();
  });

  // A 3x3 stride-1 conv, and stride-2 ones run on their phase conv (5x5: the phase filter has zeros, 6x6: none).
  const CASES = [
    { k: 3, stride: 1, algorithm: 'winograd-f4x4' },
    { k: 5, stride: 2, algorithm: 'winograd-f4x4-s2' },
    { k: 6, stride: 2, algorithm: 'winograd-f4x4-s2' },
  ] as const;

  it.each(CASES)("gives the direct conv's non-finite outputs for a NaN / Inf in the input (tiles recomputed directly), finite ones within the widened bound ($algorithm, $k x $k)", async ({ k, stride, algorithm }) => {
    const b = new GraphBuilder('nonfinite');
    const x = b.input('x', [1, 12 * stride, 12 * stride, 8]);
    const w = b.constant('w', new Tensor([k, k, 8, 8], random(k * k * 8 * 8, 3)));
    const graph = b.build({ y: b.conv2d(x, w, { name: 'conv', padding: 'SAME', strides: [stride, stride] }) });
    const data = random(144 * stride * stride * 8, 4);
    // With stride 2 and a 5x5 filter, row 2 oh + 5 - 2 of the input is in no window of output row oh but in its tile's phase rows.
    data[((5 * stride) * 12 * stride + 6 * stride) * 8 + 2] = Infinity;
    data[((10 * stride + stride - 1) * 12 * stride + 1) * 8 + 5] = NaN;
    const { outputs, algorithms } = await runOn('cpu-always', graph, { x: data });
    expect(algorithms.get('conv')).toBe(algorithm);
    const direct = (await runOn('cpu-off', graph, { x: data })).outputs.y;
    const ref = evaluate(graph, { x: data }, { widen: algorithmWiden(algorithms) }).y;
    let nonFinite = 0;
    for (let i = 0; i < direct.length; i++) {
      if (!Number.isFinite(direct[i])) {
        nonFinite++;
        expect(Object.is(outputs.y[i], direct[i]) || (Number.isNaN(direct[i]) && Number.isNaN(outputs.y[i]))).toBe(true);
      } else expect(Math.abs(outputs.y[i] - ref.value[i])).toBeLessThanOrEqual(ref.bound[i]);
    }
    expect(nonFinite).toBeGreaterThan(0);
  });

  it.each(CASES)('split over tile ranges (each with its own scratch, as a scheduler runs it) gives the whole step its bits, on the wasm and the TypeScript GEMM, the same on both ($algorithm, $k x $k)', async ({ k, stride, algorithm }) => {
    const b = new GraphBuilder('split');
    const x = b.input('x', [2, 11 * stride, 9 * stride, 8]);
    const padding: Padding = [[2, 1], [0, 3]];
    const y = b.fusedConv2d(x, b.constant('w', new Tensor([k, k, 8, 12], random(k * k * 8 * 12, 5))), b.constant('b', new Tensor([12], random(12, 6))), {
      name: 'conv', padding, activation: 'relu', strides: [stride, stride],
    });
    const graph = b.build({ y });
    const feeds = feedsOf(graph);
    const kernels = new Map(CPU_KERNELS.map((k) => [k.op, k as CpuKernel]));
    const plan = planExecution(graph);
    const module = await loadWasmGemmModule();
    const results: Float32Array[] = [];
    for (const gemm of ['wasm', 'js'] as const) {
      const program = compileProgram(plan, (op) => kernels.get(op), 'cpu', { gemm, winograd: 'always' });
      const [step] = program.steps;
      expect(step.kernel).toBe('conv2d_winograd');
      expect(step.algorithm).toBe(algorithm);
      const kernel = kernels.get(step.kernel)!;
      const memory = (): { mem: Memory; scratch: Float32Array } => {
        if (gemm === 'js') return { mem: { arena: new Float32Array(program.arenaSize), weights: new Float32Array(program.weightsSize) }, scratch: new Float32Array(maxScratch(program)) };
        const w = createWasmArena([maxScratch(program), program.arenaSize, program.weightsSize], module)!;
        return { mem: { arena: w.regions[1], weights: w.regions[2], gemm: w.gemm }, scratch: w.regions[0] };
      };
      const outputsOf = (ranges: [number, number][]) => {
        const { mem, scratch } = memory();
        program.fillWeights(mem.weights);
        writeInputs(program, mem, feeds);
        const perRange = new Scratch();
        for (const [s, e] of ranges) kernel.run(step, mem, s, e, gemm === 'js' ? perRange.get(kernel.scratchSize!(step, s, e)) : scratch);
        return readOutputs(program, mem).y;
      };
      const whole = outputsOf([[0, step.units]]);
      const u = step.units;
      expect(bitsOf(outputsOf([[0, 1], [1, 5], [5, u - 2], [u - 2, u]]))).toEqual(bitsOf(whole));
      const ref = evaluate(graph, feeds, { widen: algorithmWiden(new Map([['conv', algorithm]])) }).y;
      for (let i = 0; i < ref.value.length; i++) expect(Math.abs(whole[i] - ref.value[i])).toBeLessThanOrEqual(ref.bound[i]);
      results.push(whole);
    }
    expect(bitsOf(results[1])).toEqual(bitsOf(results[0]));
  });
});
