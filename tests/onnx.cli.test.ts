/*
 * The command line with ONNX models (in-process, runCli): `export --format onnx` writes a model
 * that every command taking a graph reads (summary, run, optimize, export back to JSON).
 */
import '@tessera/backend-cpu';
import { importOnnx } from '@tessera/onnx';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { captureCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-cli-onnx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

const cli = (...argv: string[]) => captureCli(argv);

describe('tessera with .onnx files', () => {
  const model = join(dir, 'seed.onnx');

  it('export --format onnx writes a model importOnnx reads (NCHW interface), and the format follows a .onnx output by default', async () => {
    expect((await cli('export', 'seed-cnn', '-o', model, '--format', 'onnx')).code).toBe(0);
    expect(importOnnx(new Uint8Array(readFileSync(model))).inputs[0].shape).toEqual([1, 1, 28, 28]);
    const implicit = join(dir, 'implicit.onnx');
    expect((await cli('export', 'w1-b1', '-o', implicit)).code).toBe(0);
    expect(importOnnx(new Uint8Array(readFileSync(implicit))).name).toBe('W1-b1');
  });

  it('summary, run --check, optimize and export to JSON take the .onnx model', async () => {
    const summary = await cli('summary', model);
    expect(summary.code).toBe(0);
    expect(summary.out).toMatch(/conv2d/);
    expect(summary.out).toMatch(/total params: 126,090/);
    const run = await cli('run', model, '--check', '--runs', '1');
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect((await cli('optimize', model)).code).toBe(0);
    const json = join(dir, 'seed.json');
    expect((await cli('export', model, '-o', json)).code).toBe(0);
    expect(JSON.parse(readFileSync(json, 'utf8')).format).toBe('tessera-graph');
  });

  it('refuses --sidecar with ONNX and an unknown format, by name', async () => {
    const sidecar = await cli('export', 'seed-cnn', '-o', join(dir, 'x.onnx'), '--sidecar');
    expect(sidecar.code).not.toBe(0);
    expect(sidecar.err).toMatch(/--sidecar applies to --format json only/);
    const bad = await cli('export', 'seed-cnn', '-o', join(dir, 'x.bin'), '--format', 'tflite');
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/--format 'tflite' is not one of json, onnx/);
  });
});
