/**
 * The command line in-process (runCli): every flag's bad values exit non-zero with one line
 * naming the flag, no stack trace, before any work; names are looked up as own properties;
 * .npy shapes must fit; timed runs are unobserved.
 */
import '@tessera/backend-cpu';
import { CpuBackend } from '@tessera/backend-cpu';
import { GraphBuilder, graphToJson, stringifyGraphJson, writeNpy } from '@tessera/core';
import { defaultContainer, registerBackend, type Backend } from '@tessera/runtime';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { captureCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-flags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A graph with one NHWC input x [1,4,4,2] and one output y. */
const graphFile = join(dir, 'g.json');
{
  const b = new GraphBuilder('g');
  writeFileSync(graphFile, stringifyGraphJson(graphToJson(b.build({ y: b.relu(b.input('x', [1, 4, 4, 2]), { name: 'y' }) })).json));
}
const npy = (name: string, shape: number[]) => {
  const file = join(dir, name);
  writeFileSync(file, writeNpy(shape, new Float32Array(shape.reduce((a, d) => a * d, 1))));
  return file;
};

/** Whether each run of the 'spy' backend (cpu underneath) was given a node observer. */
const observed: boolean[] = [];
registerBackend(defaultContainer, 'spy', (): Backend => {
  const cpu = new CpuBackend();
  return {
    name: 'spy',
    hasKernel: (op) => cpu.hasKernel(op),
    compile: async (graph, plan) => {
      const exe = await cpu.compile(graph, plan);
      return {
        run: (feeds, observer, into) => {
          observed.push(observer !== undefined);
          return exe.run(feeds, observer, into);
        },
        dispose: () => exe.dispose(),
      };
    },
    dispose: () => cpu.dispose(),
  };
});

const cli = (...argv: string[]) => captureCli(argv);

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

const missingDir = join(dir, 'no-such-dir');
const badRepro = join(dir, 'bad-repro.json');
writeFileSync(badRepro, JSON.stringify({ format: 'tessera-conformance-repro', version: 1, feeds: null }));

/** [argv, what the error must contain]; each fails before any work. */
const BAD: [string[], string][] = [
  [['summary', 'nope'], "'nope' is neither an example"],
  [['summary', 'seed-cnn', '--level', 'O9'], '--level'],
  [['summary', join(dir, 'missing.json')], 'cannot read the graph file'],
  [['run', 'seed-cnn', '--runs', 'abc'], "--runs: expected an integer from 1 to 1000000, got 'abc'"],
  [['run', 'seed-cnn', '--runs', '0'], '--runs: expected an integer'],
  [['run', 'seed-cnn', '--runs', '1.5'], '--runs: expected an integer'],
  [['run', 'seed-cnn', '--runs', '1e3'], '--runs: expected an integer'],
  [['run', 'seed-cnn', '--seed', 'abc'], "--seed: expected an integer from 0 to 2147483647, got 'abc'"],
  [['run', 'seed-cnn', '--seed', '-1'], '--seed: expected an integer'],
  [['run', 'seed-cnn', '--seed', '4294967296'], '--seed: expected an integer'],
  [['run', 'seed-cnn', '--backend', 'nope'], "--backend: no backend named 'nope'"],
  [['run', 'seed-cnn', '--runs'], '--runs'],
  [['run', graphFile, '--input', 'toString=x.npy'], "--input toString=x.npy: the graph has no input 'toString' (inputs: x)"],
  [['run', graphFile, '--input', 'constructor=x.npy'], "the graph has no input 'constructor'"],
  [['run', graphFile, '--input', '=x.npy'], '--input =x.npy: expected name=file.npy'],
  [['run', graphFile, '-o', 'toString=f.npy'], "--output toString=f.npy: the graph has no output 'toString' (outputs: y)"],
  [['run', graphFile, '-o', join(missingDir, 'y.npy')], `--output ${join(missingDir, 'y.npy')}: the directory ${missingDir} does not exist`],
  [['run', graphFile, '-o', dir], 'is a directory'],
  [['optimize', 'seed-cnn', '--level', 'O9'], '--level'],
  [['optimize', 'seed-cnn', '--factorize', 'energy=2'], "--factorize: expected energy=<a number in (0, 1]> or ranks=<r1>,<r2>, got 'energy=2'"],
  [['optimize', 'seed-cnn', '--factorize', 'energy=0x1'], '--factorize: expected'],
  [['optimize', 'seed-cnn', '--factorize', 'ranks=a,2'], "--factorize ranks: expected an integer from 1 to 65536, got 'a'"],
  [['optimize', 'seed-cnn', '-o', join(missingDir, 'g.json')], '--output'],
  [['export', 'seed-cnn', '-o', join(missingDir, 'g.json')], '--output'],
  [['export', 'seed-cnn'], '--output'],
  [['export', 'nope', '-o', join(dir, 'e.json')], "'nope' is neither an example"],
  [['conformance', '--runs', 'abc'], "--runs: expected an integer from 0 to 1000000, got 'abc'"],
  [['conformance', '--graphs', '-1'], '--graphs: expected an integer'],
  [['conformance', '--bound-io', '1.5'], '--bound-io: expected an integer'],
  [['conformance', '--seed', '4294967296'], '--seed: expected an integer from 0 to 2147483647'],
  [['conformance', '--seed', '1e20'], '--seed: expected an integer'],
  [['conformance', '--ops', 'nope'], "--ops: unknown op 'nope'"],
  [['conformance', '--special', 'nope'], "--special: unknown property 'nope'"],
  [['conformance', '--backends', 'nope'], "no backend named 'nope'"],
  [['conformance', '--json', join(missingDir, 'r.json'), '--runs', '1', '--graphs', '0'], '--json'],
  [['conformance', '--ops', 'none', '--graphs', '0', '--special', 'none'], 'nothing to check'],
  [['conformance', '--replay', badRepro], `${badRepro}: property: missing (expected a string)`],
  [['conformance', '--replay', join(dir, 'missing-repro.json')], 'cannot read the reproduction file'],
];

describe('bad flag values', () => {
  it.each(BAD)('%j fails naming the problem, before any work, without a stack trace', async (argv, message) => {
    const { code, out, err } = await cli(...argv);
    expect(code).not.toBe(0);
    expect(err).toContain(message);
    expect(err).not.toMatch(/\n\s+at /);
    // Nothing was computed or printed first (summary --level used to print, then fail).
    expect(out).not.toMatch(/backend|Total|wrote|PASS|FAIL/);
  });
});

describe('tessera run', () => {
  it('checks .npy shapes, allowing only a leading batch of 1 more or less', async () => {
    const wrong = await cli('run', graphFile, '--input', `x=${npy('t.npy', [1, 2, 4, 4])}`, '-b', 'reference');
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain("holds shape [1,2,4,4], but input 'x' is [1,4,4,2] (a leading batch of 1 may be added or dropped");
    for (const shape of [[4, 4, 2], [1, 1, 4, 4, 2], [1, 4, 4, 2]]) {
      const ok = await cli('run', graphFile, '--input', `x=${npy('ok.npy', shape)}`, '-b', 'reference');
      expect(ok.code, String(shape)).toBe(0);
    }
  });

  it('times unobserved runs; --profile observes separate, additional runs', async () => {
    observed.length = 0;
    expect((await cli('run', graphFile, '-b', 'spy', '--runs', '3')).code).toBe(0);
    expect(observed).toEqual([false, false, false, false]);
    observed.length = 0;
    const { code, out } = await cli('run', graphFile, '-b', 'spy', '--runs', '3', '--profile');
    expect(code).toBe(0);
    expect(observed).toEqual([false, false, false, false, true, true, true]);
    expect(out).toContain('median ms');
  });

  it('writes an output named as an own property only', async () => {
    const file = join(dir, 'y.npy');
    const { code, out } = await cli('run', graphFile, '-o', `y=${file}`, '--runs', '1');
    expect(code).toBe(0);
    expect(out).toContain(`wrote y to ${file}`);
  });
});
