/**
 * `tessera run <graph> --check` on outputs the cpu backend computes exactly (relu, reshape: the
 * reference's bound is 0 there): they agree, with worst error 0 (0 / 0 once made it NaN and
 * DISAGREES).
 */
import '@tessera/backend-cpu';
import { GraphBuilder, graphToJson, refTensor, stringifyGraphJson } from '@tessera/core';
import { Command } from 'commander';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { agreement } from '../src/agreement.js';
import { runCommand } from '../src/commands/run.js';

describe('agreement', () => {
  it('counts an exact match with a zero bound as 0, not 0 / 0', () => {
    expect(agreement(Float32Array.of(0, 2), refTensor([2], Float64Array.of(0, 2), Float64Array.of(0, 0)))).toEqual({ ok: true, worst: 0 });
  });

  it('fails an inexact element with a zero bound and a non-finite mismatch', () => {
    expect(agreement(Float32Array.of(1.5), refTensor([1], Float64Array.of(1), Float64Array.of(0)))).toEqual({ ok: false, worst: Infinity });
    expect(agreement(Float32Array.of(NaN), refTensor([1], Float64Array.of(1), Float64Array.of(0.5)))).toEqual({ ok: false, worst: Infinity });
  });
});

describe('tessera run --check', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });

  it('says the exact relu and reshape outputs agree with the reference', async () => {
    const b = new GraphBuilder('exact');
    const x = b.input('x', [2, 3]);
    const y = b.relu(x, { name: 'y' });
    const graph = b.build({ y, z: b.reshape(y, [3, 2], { name: 'z' }) });
    const file = join(mkdtempSync(join(tmpdir(), 'tessera-check-')), 'exact.json');
    writeFileSync(file, stringifyGraphJson(graphToJson(graph).json));
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    const program = new Command().exitOverride();
    runCommand(program);
    await program.parseAsync(['run', file, '--check', '--runs', '1'], { from: 'user' });
    const checks = lines.filter((l) => l.includes('float64 reference'));
    expect(checks).toEqual([
      'y: agrees with the float64 reference, worst error 0.00e+0 of its bound',
      'z: agrees with the float64 reference, worst error 0.00e+0 of its bound',
    ]);
    expect(process.exitCode).toBeUndefined();
  });
});
