/**
 * Every file read is bounded by what the file's header or its graph says it needs: /dev/zero,
 * an overlong .npy or sidecar, an oversized graph file are refused without reading them whole.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GraphBuilder, FormatError, Tensor, writeNpy } from '../../src/index.js';
import { readFileBounded, readNpyFile, loadGraph, saveGraph } from '../../src/format/node.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-bounded-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hasDevZero = existsSync('/dev/zero');

async function formatError(run: () => Promise<unknown>): Promise<FormatError> {
  const e = await run().then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof FormatError)) throw new Error(`expected a FormatError, got ${String(e)}`);
  return e;
}

describe('bounded reads', () => {
  it.runIf(hasDevZero)('refuses /dev/zero as a .npy at once (no magic), as a graph file at the size cap', async () => {
    expect((await formatError(() => readNpyFile('/dev/zero'))).message).toBe('/dev/zero: npy file: does not start with the magic string "\\x93NUMPY" (not a .npy file)');
    const e = await formatError(() => readFileBounded('/dev/zero', 1 << 16, 'graph file'));
    expect(e.message).toBe('/dev/zero: the graph file is larger than the limit of 65536 bytes');
  });

  it('reads exactly the data a .npy header declares and refuses a longer or shorter file', async () => {
    const good = writeNpy([2, 2], Float32Array.of(1, 2, 3, 4));
    const path = join(dir, 'a.npy');
    writeFileSync(path, good);
    expect(await readNpyFile(path)).toEqual({ shape: [2, 2], data: Float32Array.of(1, 2, 3, 4) });
    writeFileSync(path, Buffer.concat([good, Buffer.alloc(4)]));
    expect((await formatError(() => readNpyFile(path))).message).toBe(`${path}: npy data: shape (2, 2) of <f4 needs 16 bytes, but the file has 20 bytes after the header (trailing bytes)`);
    writeFileSync(path, good.subarray(0, good.length - 4));
    expect((await formatError(() => readNpyFile(path))).message).toContain('needs 16 bytes, but the file has 12 bytes after the header');
    writeFileSync(path, good.subarray(0, 40));
    expect((await formatError(() => readNpyFile(path))).message).toMatch(/npy header: declares \d+ bytes, but the file ends after 30/);
  });

  it('reads a sidecar only as far as its constants reach and refuses a longer one', async () => {
    const b = new GraphBuilder('side');
    const graph = b.build({ y: b.biasAdd(b.input('x', [2]), b.constant('w', new Tensor([2], Float32Array.of(1, 2))), { name: 'y' }) });
    const path = join(dir, 'side.json');
    const { sidecar } = await saveGraph(path, graph, { weights: 'sidecar' });
    writeFileSync(sidecar!, Buffer.concat([readFileSync(sidecar!), Buffer.alloc(4)]));
    expect((await formatError(() => loadGraph(path))).message).toBe(`${path}: the sidecar file '${sidecar}' is longer than the 8 bytes its constants use (is it the sidecar of another graph file?)`);
    if (hasDevZero) expect((await formatError(() => loadGraph(path, { sidecar: '/dev/zero' }))).message).toContain(`the sidecar file '/dev/zero' is longer than the 8 bytes`);
  });
});
