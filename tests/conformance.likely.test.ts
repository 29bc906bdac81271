import { jsGemm, type Gemm } from '@tessera/backend-cpu/kernels';
import { runConformanceToReport } from '@tessera/conformance';
import { U32 } from '@tessera/core';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runConformanceCli } from '../packages/cli/src/commands/conformance.js';
import { mutantContainer } from './mutants/index.js';

/*
 * The likely bound (a probabilistic, sqrt(K) statistic) in the suite: an error that grows with K,
 * as a GEMM rounding its sums towards zero makes, stays inside the rigorous bound (c K u) and so
 * passes by default, but is reported, and fails with `strict`.
 */

/** The cpu GEMM, then every result scaled by (1 - K u / 2): the bias of K sums truncated towards zero. */
const truncatingGemm: Gemm = {
  ...jsGemm,
  run(call) {
    jsGemm.run(call);
    const shrink = 1 - (call.K * U32) / 2;
    for (let i = call.rowStart; i < call.rowEnd; i++) {
      for (let j = 0; j < call.N; j++) call.c[call.cOff + i * call.ldc + j] *= shrink;
    }
  },
};

const options = (strict: boolean) => ({
  backend: 'truncating',
  container: mutantContainer('truncating', { gemm: truncatingGemm }),
  ops: ['matmul'],
  graphs: 0,
  special: [],
  runs: 100,
  seed: 7,
  strict,
});

describe('the likely bound in conformance', () => {
  it('a GEMM whose error grows with K passes the rigorous bound, is counted beyond the likely bound, and fails when strict', async () => {
    const lenient = await runConformanceToReport(options(false));
    expect(lenient.ok).toBe(true);
    expect(lenient.likely.casesBeyond).toBeGreaterThan(0);
    expect(lenient.likely.worstRatio).toBeGreaterThan(1);

    const strict = await runConformanceToReport(options(true));
    expect(strict.ok).toBe(false);
    expect(strict.properties[0].failure?.outcome.summary).toMatch(/beyond the likely bound/);
  }, 120_000);

  it('the correct cpu GEMM stays within the likely bound on the same cases, strict', async () => {
    const report = await runConformanceToReport({ ...options(true), backend: 'correct', container: mutantContainer('correct', { gemm: jsGemm }) });
    expect(report.ok).toBe(true);
    expect(report.likely.casesBeyond).toBe(0);
  }, 120_000);
});

describe('tessera conformance and the likely bound', () => {
  const cli = async (strict: boolean) => {
    const lines: string[] = [];
    const container = mutantContainer('truncating', { gemm: truncatingGemm });
    const failuresDir = mkdtempSync(join(tmpdir(), 'tessera-likely-'));
    const flags = { backends: 'truncating', ops: 'matmul', runs: '100', graphs: '0', special: 'none', seed: '7', progress: false, split: false, failuresDir };
    const status = await runConformanceCli({ ...flags, strict }, { container, log: (l) => void lines.push(l) });
    return { status, text: lines.join('\n') };
  };

  it('prints the error / likely column and a warning by default, and fails with --strict', async () => {
    const lenient = await cli(false);
    expect(lenient.status).toBe(0);
    expect(lenient.text).toContain('error / likely');
    expect(lenient.text).toMatch(/warning: truncating matmul: \d+ case\(s\) beyond the likely bound/);
    const strict = await cli(true);
    expect(strict.status).toBe(1);
    expect(strict.text).toMatch(/beyond the likely bound .*strict/);
  }, 120_000);
});
