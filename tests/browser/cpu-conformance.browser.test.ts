/**
 * The conformance suite on the `cpu` backend inside Chromium, where it runs its WebAssembly SIMD
 * GEMM, with the same derived bounds as in Node; fewer cases than the Node run.
 */
import { cpuGemmPath } from '@tessera/backend-cpu';
import { describeConformance } from '@tessera/conformance/vitest';
import { expect, it } from 'vitest';

it('the cpu backend runs its WebAssembly SIMD GEMM in Chromium', () => {
  expect(cpuGemmPath()).toBe('wasm-simd');
});

describeConformance('cpu', { seed: 20_261_128, runs: 30, graphs: 30 });
