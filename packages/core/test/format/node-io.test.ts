import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { seedCnn } from '@tessera/examples';
import { FormatError, TesseraError } from '@tessera/core';
import { loadGraph, readNpyFile, saveGraph, sidecarPathFor, writeNpyFile } from '../../src/format/node.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function rejection(run: () => Promise<unknown>): Promise<TesseraError> {
  try {
    await run();
  } catch (e) {
    if (e instanceof TesseraError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('graph files on disk', () => {
  it('names the sidecar after the graph file', () => {
    expect(sidecarPathFor('/a/model.json')).toBe('/a/model.bin');
    expect(sidecarPathFor('/a/model.JSON')).toBe('/a/model.bin');
    expect(sidecarPathFor('/a/model')).toBe('/a/model.bin');
  });

  it('saves and loads with inline weights', async () => {
    const g = seedCnn();
    const path = join(dir, 'inline.json');
    expect(await saveGraph(path, g)).toEqual({ json: path });
    expect(existsSync(sidecarPathFor(path))).toBe(false);
    const back = await loadGraph(path);
    expect(back.toString()).toBe(g.toString());
    expect(back.constants.get('fc/weights')!.data).toEqual(g.constants.get('fc/weights')!.data);
  });

  it('saves and loads with sidecar weights, and with an explicit sidecar path', async () => {
    const g = seedCnn({ batch: 2, seed: 7 });
    const path = join(dir, 'side.json');
    const saved = await saveGraph(path, g, { weights: 'sidecar' });
    expect(saved).toEqual({ json: path, sidecar: join(dir, 'side.bin') });
    const params = [...g.constants.values()].reduce((s, t) => s + t.size, 0);
    expect(readFileSync(saved.sidecar!).length).toBe(params * 4);
    expect(readFileSync(path, 'utf8')).not.toContain('base64');
    const back = await loadGraph(path);
    for (const [name, t] of g.constants) expect(back.constants.get(name)!.data).toEqual(t.data);
    const moved = join(dir, 'weights-elsewhere.bin');
    writeFileSync(moved, readFileSync(saved.sidecar!));
    rmSync(saved.sidecar!);
    expect((await loadGraph(path, { sidecar: moved })).toString()).toBe(g.toString());
    const err = await rejection(() => loadGraph(path));
    expect(err.message).toContain(`${path}: its weights are in the sidecar file '${join(dir, 'side.bin')}', which cannot be read`);
  });

  it('prefixes errors with the file', async () => {
    const fixture = fileURLToPath(new URL('../../../../tests/fixtures/malformed/shape-mismatch.json', import.meta.url));
    const err = await rejection(() => loadGraph(fixture));
    expect(err).toBeInstanceOf(FormatError);
    expect(err.message).toBe(
      `${fixture}: nodes[0] 'conv1' (conv2d): filter in_channels 3 does not match input channels 2 (input [1,4,4,2] NHWC, filter [1,1,3,3] HWIO)`,
    );
    expect((err as FormatError).path).toBe("nodes[0] 'conv1' (conv2d)");
    expect((await rejection(() => loadGraph(join(dir, 'missing.json')))).message).toContain('cannot read the graph file');
    writeFileSync(join(dir, 'bad.json'), '{"format": ');
    expect((await rejection(() => loadGraph(join(dir, 'bad.json')))).message).toContain(`${join(dir, 'bad.json')}: not valid JSON`);
  });

  it('reads and writes .npy files', async () => {
    const path = join(dir, 'a.npy');
    await writeNpyFile(path, [2, 2], new Float32Array([1, 2, 3, 4]));
    expect(await readNpyFile(path)).toEqual({ shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) });
    writeFileSync(join(dir, 'b.npy'), 'not numpy');
    expect((await rejection(() => readNpyFile(join(dir, 'b.npy')))).message).toContain(`${join(dir, 'b.npy')}: npy file: does not start with the magic string`);
  });
});
