#!/usr/bin/env node
// Fetches the ONNX Python package's backend test data (onnx/backend/test/data: pytorch-converted,
// pytorch-operator, simple, light; Apache-2.0) into .cache/onnx-testdata/onnx-<version>/, once.
// The wheel comes from the Python package registry through pip (a wheel is a zip); Python's
// zipfile extracts only the test data, onnx.proto and the license. Prints the folder.
// The data is vendored under packages/onnx/test/data (a CI machine may have no Python registry);
// this script refreshes a cache only where that folder is missing.
// Usage: node scripts/fetch-onnx-testdata.mjs
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ONNX_VERSION = '1.23.1';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The test data vendored in the repository (its Apache-2.0 LICENSE inside), else the cache this script fills. */
const VENDORED = join(root, 'packages', 'onnx', 'test', 'data', `onnx-${ONNX_VERSION}`);
export const TESTDATA_DIR = existsSync(join(VENDORED, '.complete')) ? VENDORED : join(root, '.cache', 'onnx-testdata', `onnx-${ONNX_VERSION}`);
const done = join(TESTDATA_DIR, '.complete');

const EXTRACT = `
import sys, zipfile
wheel, out = sys.argv[1], sys.argv[2]
keep = ('onnx/backend/test/data/pytorch-converted/', 'onnx/backend/test/data/pytorch-operator/',
        'onnx/backend/test/data/simple/', 'onnx/backend/test/data/light/', 'onnx/onnx.proto')
with zipfile.ZipFile(wheel) as z:
    for m in z.namelist():
        if m.startswith(keep) or (m.endswith('/LICENSE') and '.dist-info/' in m):
            z.extract(m, out)
`;

function python() {
  for (const cmd of ['python3', 'python']) {
    try {
      execFileSync(cmd, ['--version'], { stdio: 'ignore' });
      return cmd;
    } catch {
      // try the next name
    }
  }
  throw new Error('fetch-onnx-testdata: needs python3 with pip (to download the onnx wheel)');
}

export function fetchOnnxTestdata() {
  if (existsSync(done)) return TESTDATA_DIR;
  const py = python();
  const tmp = mkdtempSync(join(tmpdir(), 'onnx-wheel-'));
  try {
    execFileSync(py, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check', '-q', '-d', tmp, `onnx==${ONNX_VERSION}`], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const wheel = readdirSync(tmp).find((f) => f.endsWith('.whl'));
    if (!wheel) throw new Error(`fetch-onnx-testdata: pip downloaded no wheel of onnx ${ONNX_VERSION}`);
    rmSync(TESTDATA_DIR, { recursive: true, force: true });
    mkdirSync(TESTDATA_DIR, { recursive: true });
    execFileSync(py, ['-c', EXTRACT, join(tmp, wheel), TESTDATA_DIR], { stdio: 'inherit' });
    writeFileSync(done, `${wheel}\n`);
    return TESTDATA_DIR;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(fetchOnnxTestdata());
}
