/**
 * `tessera conformance` end to end on a faulty backend: the run fails (exit status 1) and writes
 * a reproduction file; `--replay` of that file reproduces the same failure on the faulty backend
 * and passes on the correct cpu backend.
 */
import '@tessera/backend-cpu';
import { readRepro } from '@tessera/conformance';
import { backendNames, defaultContainer, registerBackend } from '@tessera/runtime';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runConformanceCli } from '../packages/cli/src/commands/conformance.js';
import { MutantBackend, MUTANTS, type Mutant } from './mutants/index.js';

const reluAbs = MUTANTS.find((m) => m.name === 'relu-abs') as Extract<Mutant, { kind: 'backend' }>;

describe('tessera conformance --replay', () => {
  // The faulty backend next to cpu in one container, as a user's own backend would be.
  const container = defaultContainer;
  registerBackend(container, 'relu-abs', () => new MutantBackend('relu-abs', reluAbs.spec), 'mutant: relu as |x|');
  const dir = mkdtempSync(join(tmpdir(), 'tessera-replay-'));

  it('a failing run exits 1, prints the tables (cpu and its variant cpu-fast pass) and writes reproductions; --replay reproduces it and passes on cpu', async () => {
    expect(backendNames(container)).toEqual(expect.arrayContaining(['cpu', 'relu-abs']));
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    const json = join(dir, 'report.json');
    const status = await runConformanceCli({ backends: 'cpu,relu-abs', seed: '5', failuresDir: dir, json, progress: false }, { container, log });
    expect(status).toBe(1);
    const out = lines.join('\n');
    expect(out).toContain('seed 5');
    expect(out).toMatch(/relu-abs\s*│\s*relu\s*│/);
    expect(out).toContain('agreement');
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.reports.map((r: { backend: string; ok: boolean }) => [r.backend, r.ok])).toEqual([['cpu', true], ['cpu-fast', true], ['relu-abs', false]]);
    const cell = report.agreement.find((c: { a: string; b: string }) => c.a === 'cpu' && c.b === 'relu-abs');
    expect(cell.worstRatio).toBe('Infinity');

    const files = readdirSync(dir).filter((f) => f.startsWith('relu-abs-relu-'));
    expect(files).toHaveLength(1);
    const file = join(dir, files[0]);
    const repro = await readRepro(file);
    expect(repro.backend).toBe('relu-abs');
    expect(repro.graph.nodes.map((n) => n.op)).toEqual(['relu']);
    expect(repro.actual).toBeDefined();

    lines.length = 0;
    expect(await runConformanceCli({ replay: file }, { container, log })).toBe(1);
    expect(lines.join('\n')).toMatch(/relu-abs\s*│\s*FAIL\s*│\s*yes/);

    lines.length = 0;
    expect(await runConformanceCli({ replay: file, backends: 'cpu' }, { container, log })).toBe(0);
    expect(lines.join('\n')).toMatch(/cpu\s*│\s*pass/);

    lines.length = 0;
    expect(await runConformanceCli({ replay: file, backends: 'cpu,relu-abs' }, { container, log })).toBe(1);
  });

  it('refuses a backend the container does not have, naming it and the registered ones', async () => {
    await expect(runConformanceCli({ backends: 'webgl', runs: '1', progress: false }, { container, log: () => {} })).rejects.toThrow(
      /no backend named 'webgl' is registered \(registered: .*cpu/,
    );
  });
});
