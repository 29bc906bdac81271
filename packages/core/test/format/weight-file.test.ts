import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FormatError, GraphBuilder, readWeights } from '../../src/index.js';
import { readWeightsFile } from '../../src/format/node.js';

// The fixtures were written by NumPy (np.savez, np.savez_compressed) and the safetensors package
// (test/fixtures/weights/make.py); expected.json holds what NumPy's astype(float32) makes of each.
const dir = new URL('../fixtures/weights/', import.meta.url);
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(name, dir)));
const expected: Record<string, { shape: number[]; values: (number | string)[] }> = JSON.parse(readFileSync(new URL('expected.json', dir), 'utf8'));
const asNumber = (v: number | string) => (typeof v === 'number' ? v : Number(v.replace('inf', 'Infinity')));
const FILES = ['model.npz', 'model-compressed.npz', 'model.safetensors'];

describe('weight files', () => {
  for (const file of FILES) {
    it(`${file}: every float tensor reads as NumPy converts it to float32, bit for bit (-0 included)`, () => {
      const weights = readWeights(fixture(file), file);
      const names = Object.keys(expected).filter((n) => n !== 'bf' || file.endsWith('.safetensors'));
      expect(names.every((n) => weights.has(n))).toBe(true);
      for (const name of names) {
        const t = weights.tensor(name, expected[name].shape);
        expect(t.shape, name).toEqual(expected[name].shape);
        expect([...t.data], name).toEqual(expected[name].values.map(asNumber).map(Math.fround));
      }
    });

    it(`${file}: a missing name, a wrong shape and an integer dtype are refused by name`, () => {
      const weights = readWeights(fixture(file), file);
      expect(() => weights.tensor('conv2/kernel')).toThrow(/model.*no tensor named 'conv2\/kernel'; it has .*'conv1\/kernel'/);
      expect(() => weights.tensor('conv1/kernel', [3, 3, 4, 2])).toThrow(/tensor 'conv1\/kernel' has shape \[3, ?3, ?2, ?4\], expected \[3, ?3, ?4, ?2\]/);
      expect(() => weights.tensor('steps')).toThrow(/tensor 'steps' has dtype (I64|<i8); only float types/);
    });
  }

  it('float16 subnormals, -0 and infinities convert exactly', () => {
    const t = readWeights(fixture('model.safetensors')).tensor('tiny_half');
    expect(t.data[0]).toBe(2 ** -24);
    expect(Object.is(t.data[4], -0)).toBe(true);
    expect(t.data[5]).toBe(Infinity);
  });

  it('weights read from a file become a graph constant', async () => {
    const weights = await readWeightsFile(new URL('model.safetensors', dir).pathname);
    const g = new GraphBuilder('dense');
    const x = g.input('x', [1, 5]);
    const graph = g.build({ y: g.matmul(x, g.constant('w', weights.tensor('dense.weight', [5, 3]))) });
    expect(graph.constants.get('w')!.data).toEqual(weights.tensor('dense.weight').data);
  });

  it('a truncated, corrupt or foreign file is a FormatError naming the file, never a crash', () => {
    const st = fixture('model.safetensors');
    const npz = fixture('model.npz');
    const cases: [string, Uint8Array][] = [
      ['truncated safetensors', st.subarray(0, st.length - 10)],
      ['truncated npz', npz.subarray(0, npz.length - 100)],
      ['a header length past the end', Uint8Array.of(0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0x7b)],
      ['text', new TextEncoder().encode('hello world, not weights')],
      ['empty', new Uint8Array(0)],
    ];
    for (const [what, bytes] of cases) {
      let error: unknown;
      try {
        readWeights(bytes, 'w.bin');
      } catch (e) {
        error = e;
      }
      expect(error, what).toBeInstanceOf(FormatError);
      expect((error as Error).message, what).toMatch(/^w\.bin: /);
    }
  });
});
