/**
 * The cpu backend with the wasm GEMM (default where SIMD exists) and with the JS kernels:
 * both agree with core's float64 `evaluate` within its per-element bounds, on graphs that
 * exercise constant and runtime filters / right-hand matrices, transposes and epilogues.
 */
import { describe, expect, it } from 'vitest';
import { GraphBuilder, evaluate, randomTensor, type Graph } from '@tessera/core';
import { planExecution } from '@tessera/runtime';
import { CpuBackend, cpuGemmPath } from '../../src/index.js';

function graph(): Graph {
  const g = new GraphBuilder('wasm-mix');
  const x = g.input('x', [2, 11, 9, 5]);
  const f2 = g.input('f2', [3, 3, 7, 9]); // runtime filter
  const w1 = g.constant('w1', randomTensor([3, 3, 5, 7], 1, 0.5));
  const b1 = g.constant('b1', randomTensor([7], 2, 0.1));
  const c1 = g.relu(g.biasAdd(g.conv2d(x, w1, { strides: [1, 1], padding: 'SAME' }), b1));
  const c2 = g.conv2d(c1, f2, { strides: [2, 2], padding: 'VALID' });
  const flat = g.reshape(c2, [2, 5 * 4 * 9]);
  const w3 = g.constant('w3', randomTensor([13, 5 * 4 * 9], 3, 0.2)); // used transposed
  const b3 = g.constant('b3', randomTensor([13], 4, 0.1));
  const fc = g.fusedMatmul(flat, w3, b3, { transposeB: true, activation: 'relu6' });
  const a4 = g.input('a4', [2, 17]); // transposed runtime A
  const m4 = g.matmul(a4, fc, { transposeA: true });
  return g.build({ conv: c1, out: m4 });
}

async function runOn(backend: CpuBackend, gr: Graph, feeds: Record<string, Float32Array>) {
  const exe = await backend.compile(gr, planExecution(gr));
  const out = await exe.run(feeds);
  return { out, path: (exe as unknown as { gemmPath: string }).gemmPath };
}

describe('cpu backend gemm paths', () => {
  it('the default path is wasm-simd here, and both paths agree with evaluate within its bounds', async () => {
    expect(cpuGemmPath()).toBe('wasm-simd');
    const gr = graph();
    const feeds = {
      x: randomTensor([2, 11, 9, 5], 10).data,
      f2: randomTensor([3, 3, 7, 9], 11, 0.3).data,
      a4: randomTensor([2, 17], 12).data,
    };
    const ref = evaluate(gr, feeds);
    for (const [opts, path] of [[{}, 'wasm-simd'], [{ gemm: 'wasm' as const }, 'wasm-simd'], [{ gemm: 'js' as const }, 'js']] as const) {
      const r = await runOn(new CpuBackend(opts), gr, feeds);
      expect(r.path).toBe(path);
      for (const name of ['conv', 'out']) {
        const got = r.out[name];
        const { value, bound } = ref[name];
        expect(got.length).toBe(value.length);
        for (let i = 0; i < value.length; i++) {
          if (!(Math.abs(got[i] - value[i]) <= bound[i])) throw new Error(`${path} ${name}[${i}] = ${got[i]}, expected ${value[i]} ± ${bound[i]}`);
        }
      }
    }
  });
});
