/**
 * Relaxed SIMD (f32x4.relaxed_madd, a fused multiply-add here) is used where the runtime has it.
 * Node 20 has it only behind --experimental-wasm-relaxed-simd, so this test runs a child Node with
 * that flag: the cpu backend must report relaxed SIMD there, and the GEMM ops (conv2d, matmul and
 * their fused forms; cpu and workers) must pass conformance with the likely bound enforced.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const node = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--conditions=@tessera/source', '--import', 'tsx', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 300_000,
  });

const LEVEL = "import { cpuSimdLevel } from '@tessera/backend-cpu'; console.log(cpuSimdLevel());";

describe('relaxed SIMD', () => {
  it('is detected where the runtime validates it, and TESSERA_RELAXED_SIMD=0 turns it off', () => {
    expect(node(['-e', LEVEL]).stdout.trim()).toBe('relaxed');
    expect(node(['-e', LEVEL], { TESSERA_RELAXED_SIMD: '0' }).stdout.trim()).toBe('simd');
  });

  it('the fused multiply-add GEMM passes conformance on cpu and workers, strict (within the likely bound)', () => {
    const run = node([
      'packages/cli/src/main.ts', 'conformance', '--backends', 'cpu,workers',
      '--ops', 'conv2d,fused_conv2d,matmul,fused_matmul', '--runs', '20', '--graphs', '0', '--bound-io', '0',
      '--special', 'none', '--seed', '1', '--strict', '--no-progress', '--no-split',
    ]);
    expect(run.status, run.stdout + run.stderr).toBe(0);
  }, 300_000);
});
