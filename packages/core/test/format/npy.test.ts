import { describe, expect, it } from 'vitest';
import { test as fcTest, fc } from '@fast-check/vitest';
import { TesseraError, readNpy, writeNpy } from '@tessera/core';

/**
 * .npy bytes assembled by hand from the format description (numpy/lib/format.py, NEP 1):
 * "\x93NUMPY", major, minor, header length (uint16 LE for 1.0, uint32 LE for 2.0), header.
 */
function npyBytes(major: 1 | 2 | 3 | number, header: string, data: readonly number[], minor = 0): Uint8Array {
  const len = major === 1 ? [header.length & 0xff, header.length >> 8] : [header.length & 0xff, (header.length >> 8) & 0xff, 0, 0];
  return new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, minor, ...len, ...[...header].map((c) => c.charCodeAt(0)), ...data]);
}

function rejection(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    if (e instanceof TesseraError) return e.message;
    throw new Error(`expected a TesseraError, got ${String(e)}`);
  }
  throw new Error('expected a rejection');
}

// float32 little-endian: 1 = 00 00 80 3F, 2 = 00 00 00 40, 3 = 00 00 40 40, -1 = 00 00 80 BF, 0.5 = 00 00 00 3F, 0 = 00 00 00 00
const F32_DATA = [0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0, 0x40, 0x40, 0, 0, 0x80, 0xbf, 0, 0, 0, 0x3f, 0, 0, 0, 0];
const DICT_2x3 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"; // 59 characters

describe('writeNpy', () => {
  it('writes exactly the bytes the format specifies (version 1.0, header padded to 64 bytes)', () => {
    // 10 bytes of prefix + 59 + 58 spaces + '\n' = 128, a multiple of 64; HEADER_LEN = 118 = 0x76.
    const expected = new Uint8Array([
      0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00,
      ...[...DICT_2x3].map((c) => c.charCodeAt(0)),
      ...new Array(58).fill(0x20),
      0x0a,
      ...F32_DATA,
    ]);
    expect(expected.length).toBe(128 + 24);
    expect([...writeNpy([2, 3], new Float32Array([1, 2, 3, -1, 0.5, 0]))]).toEqual([...expected]);
    expect(readNpy(expected)).toEqual({ shape: [2, 3], data: new Float32Array([1, 2, 3, -1, 0.5, 0]) });
  });

  it('writes 1-D shapes as (n,) and scalars as ()', () => {
    const text = (b: Uint8Array) => new TextDecoder().decode(b.subarray(10, 10 + (b[8] | (b[9] << 8))));
    expect(text(writeNpy([4], new Float32Array(4)))).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(4,\), \} *\n$/);
    expect(text(writeNpy([], new Float32Array([7])))).toMatch(/'shape': \(\), \}/);
    for (const shape of [[], [4], [1, 2, 3, 4, 5, 6, 7, 8, 9]]) {
      const b = writeNpy(shape, new Float32Array(shape.reduce((p, d) => p * d, 1)));
      expect((10 + (b[8] | (b[9] << 8))) % 64).toBe(0);
    }
  });

  it('rejects data that does not fit the shape', () => {
    expect(rejection(() => writeNpy([2, 3], new Float32Array(5)))).toContain('shape [2,3] has 6 elements, but data has 5');
    expect(rejection(() => writeNpy([-1], new Float32Array(1)))).toContain('non-negative integers');
  });
});

describe('readNpy', () => {
  fcTest.prop([fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }).chain((shape) =>
    fc.tuple(fc.constant(shape), fc.float32Array({ minLength: shape.reduce((p, d) => p * d, 1), maxLength: shape.reduce((p, d) => p * d, 1) })),
  )])('round-trips float32 arrays bit for bit', ([shape, data]) => {
    const back = readNpy(writeNpy(shape, data));
    expect(back.shape).toEqual(shape);
    expect([...new Uint8Array(back.data.buffer)]).toEqual([...new Uint8Array(data.buffer)]);
  });

  it('reads version 2.0 headers and converts <f8 to float32', () => {
    // 12 + 57 + 58 spaces + '\n' = 128; HEADER_LEN = 116. 1.5 = 3FF8..., -2 = C000..., 0.1 = 3FB999999999999A
    const header = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }" + ' '.repeat(58) + '\n';
    const bytes = npyBytes(2, header, [
      0, 0, 0, 0, 0, 0, 0xf8, 0x3f,
      0, 0, 0, 0, 0, 0, 0, 0xc0,
      0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f,
    ]);
    expect(bytes[8]).toBe(116);
    expect(readNpy(bytes)).toEqual({ shape: [3], data: new Float32Array([1.5, -2, Math.fround(0.1)]) });
  });

  it('reads <i4 with double quotes, any key order and no trailing comma', () => {
    const header = '{"shape": (2, 2), "fortran_order": False, "descr": "<i4"}\n';
    const bytes = npyBytes(1, header, [1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0x80]);
    expect(readNpy(bytes)).toEqual({ shape: [2, 2], data: new Float32Array([1, -1, 2147483648, -2147483648]) });
  });

  it('reads <i8, Python 2 long dimensions (3L,) and the spare header space newer NumPy leaves', () => {
    const header = "{'descr': '<i8', 'fortran_order': False, 'shape': (3L,), }" + ' '.repeat(40) + '\n';
    const bytes = npyBytes(1, header, [
      5, 0, 0, 0, 0, 0, 0, 0,
      0xf9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      1, 0, 0, 1, 0, 0, 0, 0, // 2^24 + 1, which float32 rounds to 2^24
    ]);
    expect(readNpy(bytes)).toEqual({ shape: [3], data: new Float32Array([5, -7, 16777216]) });
  });

  it('reads scalars and empty arrays', () => {
    expect(readNpy(npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }\n", [0, 0, 0x40, 0x40]))).toEqual({
      shape: [],
      data: new Float32Array([3]),
    });
    expect(readNpy(npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }\n", []))).toEqual({
      shape: [0, 5],
      data: new Float32Array(0),
    });
  });

  const f4 = (shape: string) => `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }\n`;
  const MALFORMED: [string, () => Uint8Array, string][] = [
    ['no magic', () => new Uint8Array([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x5a, 1, 0, 0, 0]), 'npy file: does not start with the magic string'],
    ['too short', () => new Uint8Array([0x93, 0x4e]), 'npy file: does not start with the magic string'],
    ['version 4.0', () => npyBytes(4, f4('(1,)'), [0, 0, 0, 0]), 'npy file: unsupported format version 4.0'],
    ['version 1.1', () => npyBytes(1, f4('(1,)'), [0, 0, 0, 0], 1), 'npy file: unsupported format version 1.1'],
    ['header past the end', () => npyBytes(1, f4('(1,)'), []).subarray(0, 30), 'npy header: declares'],
    ['no newline', () => npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0]), 'npy header: does not end with a newline'],
    ['fortran order', () => npyBytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n", new Array(16).fill(0)), 'npy header: fortran_order is True'],
    ['big-endian', () => npyBytes(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }\n", [0, 0, 0, 0]), "unsupported dtype '>f4' (big-endian"],
    ['complex', () => npyBytes(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }\n", new Array(8).fill(0)), "unsupported dtype '<c8'"],
    ['prototype key as dtype', () => npyBytes(1, "{'descr': 'constructor', 'fortran_order': False, 'shape': (1,), }\n", [0, 0, 0, 0]), "unsupported dtype 'constructor'"],
    ['structured dtype', () => npyBytes(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }\n", [0, 0, 0, 0]), 'structured dtypes'],
    ['missing key', () => npyBytes(1, "{'descr': '<f4', 'shape': (1,), }\n", [0, 0, 0, 0]), "npy header: missing key 'fortran_order'"],
    ['extra key', () => npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}\n", [0, 0, 0, 0]), 'npy header: expected a string, True, False or a tuple'],
    ['unexpected key', () => npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 'y'}\n", [0, 0, 0, 0]), "npy header: unexpected key 'x'"],
    ['duplicate key', () => npyBytes(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}\n", [0, 0, 0, 0]), "duplicate key 'descr'"],
    ['shape not a tuple', () => npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': 'big'}\n", [0, 0, 0, 0]), "'shape' must be a tuple"],
    ['negative dimension', () => npyBytes(1, f4('(-1,)'), []), 'expected a non-negative integer'],
    ['garbage after dict', () => npyBytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} x\n", [0, 0, 0, 0]), 'unexpected text after the dict'],
    ['non-ASCII header', () => npyBytes(1, "{'descr': '<f\u00e94', 'fortran_order': False, 'shape': (1,)}\n", [0, 0, 0, 0]), 'non-ASCII byte 0xe9'],
    ['truncated data', () => npyBytes(1, f4('(2, 3)'), new Array(20).fill(0)), 'npy data: shape (2, 3) of <f4 needs 24 bytes, but the file has 20 bytes'],
    ['trailing data', () => npyBytes(1, f4('(1,)'), new Array(8).fill(0)), 'trailing bytes'],
    ['absurd shape', () => npyBytes(1, f4('(1000000000, 1000000000)'), [0, 0, 0, 0]), 'npy header: shape (1000000000, 1000000000) has more than 2147483647 elements'],
    ['huge dimension', () => npyBytes(1, f4('(123456789012345678901,)'), []), 'dimension 123456789012345678901 is too large'],
  ];
  it.each(MALFORMED)('rejects %s', (_label, make, fragment) => {
    expect(rejection(() => readNpy(make()))).toContain(fragment);
  });
});
