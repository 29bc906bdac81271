/**
 * What the command line prints (in-process, runCli): --version, the --json shapes of summary,
 * run and optimize (packages/cli/README.md), the one table style, which commands load the
 * backends, and the directory relative paths resolve against.
 */
import '@tessera/backend-cpu';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { userDirectory } from '../packages/cli/src/cwd.js';
import { statusLine } from '../packages/cli/src/progress.js';
import { captureCli } from './helpers/cli.js';

const cli = (argv: string[], loadBackends = async () => {}) => captureCli(argv, { loadBackends });

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

// The seed CNN by hand: conv 3x3x1x64 + 64 biases, dense 12544 x 10 + 10 biases; MACs: 28*28*64*9 and 12544*10.
const SEED_PARAMS = 3 * 3 * 1 * 64 + 64 + 14 * 14 * 64 * 10 + 10;
const SEED_MACS = 28 * 28 * 64 * 9 + 14 * 14 * 64 * 10;

describe('tessera --version', () => {
  it("prints the CLI package's version and exits 0", async () => {
    const { version } = JSON.parse(readFileSync(new URL('../packages/cli/package.json', import.meta.url), 'utf8'));
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(version);
  });
});

describe('--json', () => {
  it('summary --json: nodes with shapes, params and MACs summing to the totals, counted by hand', async () => {
    const r = await cli(['summary', 'seed-cnn', '--json', '--level', 'O1']);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    expect(s.inputs).toEqual([{ name: 'x', shape: [1, 28, 28, 1] }]);
    expect(s.outputs).toEqual([expect.objectContaining({ name: 'logits', shape: [1, 10] })]);
    expect(s.totalParams).toBe(SEED_PARAMS);
    expect(s.totalMacs).toBe(SEED_MACS);
    expect(s.nodes.reduce((a: number, n: { params: number }) => a + n.params, 0)).toBe(SEED_PARAMS);
    expect(s.nodes.find((n: { op: string }) => n.op === 'conv2d')).toMatchObject({ shape: [1, 28, 28, 64], params: 576 });
    // After O1 the conv, bias and relu are one node: fewer nodes, the same parameters.
    expect(s.optimized.level).toBe('O1');
    expect(s.optimized.nodes.length).toBeLessThan(s.nodes.length);
    expect(s.optimized.totalParams).toBe(SEED_PARAMS);
  });

  it('run --json --check: the outputs agree with the reference run, the timing is numbers', async () => {
    const cpu = await cli(['run', 'seed-cnn', '--json', '--check', '--runs', '2', '--seed', '7']);
    expect(cpu.code).toBe(0);
    const j = JSON.parse(cpu.out);
    expect(j).toMatchObject({ graph: 'seed-cnn', backend: 'cpu', seed: 7, profile: null });
    expect(j.timing.runs).toBe(2);
    for (const k of ['compileMs', 'firstRunMs', 'medianMs', 'minMs', 'peakBytes']) expect(typeof j.timing[k]).toBe('number');
    expect(j.check).toEqual([{ output: 'logits', ok: true, worstRatio: expect.any(Number) }]);
    const ref = JSON.parse((await cli(['run', 'seed-cnn', '--json', '--backend', 'reference', '--seed', '7'])).out);
    expect(ref.timing).toBeNull();
    expect(j.outputs[0].shape).toEqual([1, 10]);
    j.outputs[0].head.forEach((v: number, i: number) => expect(v).toBeCloseTo(ref.outputs[0].head[i], 4));
  });

  it('run --json --profile: the bias_add and relu the conv runs in its epilogue name it, and their time is not counted twice', async () => {
    const r = await cli(['run', 'seed-cnn', '--json', '--profile', '--runs', '2']);
    expect(r.code).toBe(0);
    const profile: { node: string; inEpilogueOf: string | null; medianMs: number | null }[] = JSON.parse(r.out).profile;
    const hosts = Object.fromEntries(profile.map((p) => [p.node, p.inEpilogueOf]));
    expect(hosts).toEqual({ conv1: null, 'conv1/bias_add': 'conv1', 'conv1/relu': 'conv1', pool1: null, flatten: null, fc: null, 'fc/bias_add': 'fc' });
    expect(profile.find((p) => p.node === 'conv1')!.medianMs).toBeGreaterThan(0);
    const table = await cli(['run', 'seed-cnn', '--runs', '1', '--profile']);
    expect(table.out).toMatch(/conv1\/relu\s+│ relu\s+│ \[1,28,28,64\]\s+│\s+in conv1/);
  });

  it('optimize --json: one entry per pass; fusion rewrites the two conv / matmul chains', async () => {
    const r = await cli(['optimize', 'seed-cnn', '--json', '--summary']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.level).toBe('O1');
    const fuse = j.passes.find((p: { pass: string }) => p.pass === 'fuse');
    expect(fuse).toMatchObject({ exact: true, rewritten: 2, nodes: { before: 7, after: 4 } });
    expect(j.before.totalMacs).toBe(SEED_MACS);
    expect(j.after.nodes).toHaveLength(4);
    expect(j.verified).toBeNull();
  });
});

describe('tables', () => {
  it('summary and optimize print cli-table3 tables like run --profile and conformance', async () => {
    for (const argv of [['summary', 'seed-cnn'], ['optimize', 'seed-cnn'], ['run', 'seed-cnn', '--runs', '1', '--profile']]) {
      const r = await cli(argv);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/┌─+┬/);
      expect(r.out).toMatch(/│ node\s+│ op|│ pass\s+│ kind/);
    }
  });
});

describe('start-up', () => {
  it('summary, optimize and export do not load the backends; run and conformance do, before defining their options', async () => {
    for (const [argv, loads] of [
      [['summary', 'seed-cnn'], false],
      [['optimize', 'seed-cnn'], false],
      [['run', 'seed-cnn', '--runs', '1'], true],
      [['conformance', '--help'], true],
    ] as const) {
      const load = vi.fn(async () => {});
      await cli([...argv], load);
      expect(load.mock.calls.length, argv.join(' ')).toBe(loads ? 1 : 0);
    }
  });
});

describe('userDirectory', () => {
  it("follows INIT_CWD only for the repository's own `tessera` script", () => {
    const repo = { npm_package_name: 'tessera', npm_lifecycle_event: 'tessera', INIT_CWD: '/home/u/models' };
    expect(userDirectory(repo, '/repo')).toBe('/home/u/models');
    // A user's script runs in their package's directory, which their relative paths assume.
    expect(userDirectory({ ...repo, npm_package_name: 'my-app' }, '/home/u/app')).toBe('/home/u/app');
    expect(userDirectory({ ...repo, npm_lifecycle_event: 'npx' }, '/home/u/app')).toBe('/home/u/app');
    expect(userDirectory({ INIT_CWD: '/elsewhere' }, '/home/u/app')).toBe('/home/u/app');
    expect(userDirectory({}, '/home/u/app')).toBe('/home/u/app');
  });
});

describe('statusLine', () => {
  const tty = { isTTY: process.stderr.isTTY, columns: process.stderr.columns };
  afterEach(() => Object.assign(process.stderr, tty));

  /** What a status line writes to stderr from start to done. */
  function written(isTTY: boolean, columns: number, enabled = true): string {
    Object.assign(process.stderr, { isTTY, columns });
    const chunks: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => chunks.push(String(c)) > 0);
    const status = statusLine('webgl: starting', enabled);
    status.update('webgl: run 1 of 5');
    status.done();
    spy.mockRestore();
    return chunks.join('');
  }

  it('shows on a terminal only: nothing on a pipe, with --json, or on a terminal reporting no width', () => {
    expect(written(true, 80)).toContain('webgl: starting');
    expect(written(false, 80)).toBe('');
    expect(written(true, 80, false)).toBe('');
    expect(written(true, 0)).toBe('');
  });
});
