import { TesseraError } from '../errors.js';
import { MAX_ELEMENTS } from '../shape.js';
import { float32FromLittleEndian, float32ToLittleEndian } from './bytes.js';

/**
 * NumPy `.npy` arrays (format versions 1.0, 2.0 and 3.0). Reads little-endian float32, float64,
 * int32 and int64 in C order, converting to float32; writes float32. Pure and browser-safe.
 *
 * The file: the magic `\x93NUMPY`, a major and a minor version byte, the header length
 * (uint16 little-endian in 1.0, uint32 in 2.0 / 3.0), then the header: a Python dict literal
 * with the keys 'descr', 'fortran_order' and 'shape', padded with spaces and ended by '\n' so
 * that the data starts at a multiple of 64 bytes. The raw data follows.
 */

export interface NpyArray {
  readonly shape: number[];
  readonly data: Float32Array;
}

/** Dimensions of an array we accept (NumPy itself allows 64). */
export const NPY_MAX_RANK = 32;

/** Longest header we parse (NumPy's own reader refuses more than 10000 bytes by default). */
export const NPY_MAX_HEADER = 1 << 16;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64;

type Descr = '<f4' | '<f8' | '<i4' | '<i8';
const ITEM_SIZE: Record<Descr, number> = { '<f4': 4, '<f8': 8, '<i4': 4, '<i8': 8 };

function fail(where: string, problem: string): never {
  throw new TesseraError(`npy ${where}: ${problem}`);
}

export function readNpy(bytes: Uint8Array): NpyArray {
  if (!(bytes instanceof Uint8Array)) fail('file', 'expected a Uint8Array');
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    fail('file', 'does not start with the magic string "\\x93NUMPY" (not a .npy file)');
  }
  const major = bytes[6];
  const minor = bytes[7];
  if (!((major === 1 || major === 2 || major === 3) && minor === 0)) {
    fail('file', `unsupported format version ${major}.${minor} (supported: 1.0, 2.0, 3.0)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthSize = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthSize) fail('file', `is truncated: ${bytes.length} bytes, no room for the header length`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = 8 + lengthSize;
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) {
    fail('header', `declares ${headerLen} bytes, but only ${bytes.length - headerStart} bytes follow the header length`);
  }
  if (headerLen > NPY_MAX_HEADER) fail('header', `declares ${headerLen} bytes, more than the limit of ${NPY_MAX_HEADER}`);
  const headerBytes = bytes.subarray(headerStart, dataStart);
  let text: string;
  if (major === 3) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
    } catch {
      fail('header', 'is not valid UTF-8');
    }
  } else {
    const bad = headerBytes.findIndex((b) => b > 0x7f);
    if (bad >= 0) fail('header', `has a non-ASCII byte 0x${headerBytes[bad].toString(16)} at offset ${headerStart + bad}`);
    text = new TextDecoder('latin1').decode(headerBytes);
  }
  if (!text.endsWith('\n')) fail('header', 'does not end with a newline');
  const header = parseHeader(text);

  const count = countElements(header.shape);
  const itemSize = ITEM_SIZE[header.descr];
  const need = count * itemSize;
  const have = bytes.length - dataStart;
  if (have !== need) {
    fail(
      'data',
      `shape (${header.shape.join(', ')}) of ${header.descr} needs ${need} bytes, but the file has ${have} bytes after the header${have > need ? ' (trailing bytes)' : ''}`,
    );
  }
  return { shape: header.shape, data: convert(bytes, dataStart, count, header.descr) };
}

function convert(bytes: Uint8Array, start: number, count: number, descr: Descr): Float32Array {
  if (descr === '<f4') return float32FromLittleEndian(bytes, start, count);
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, count * ITEM_SIZE[descr]);
  if (descr === '<f8') for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
  else if (descr === '<i4') for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
  else for (let i = 0; i < count; i++) out[i] = Number(view.getBigInt64(i * 8, true));
  return out;
}

function countElements(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  if (n > MAX_ELEMENTS) fail('header', `shape (${shape.join(', ')}) has more than ${MAX_ELEMENTS} elements`);
  return n;
}

/** Writes a float32 array as a version 1.0 .npy (2.0 if the header would not fit in 65535 bytes). */
export function writeNpy(shape: readonly number[], data: Float32Array): Uint8Array {
  if (!(data instanceof Float32Array)) throw new TesseraError('writeNpy: data must be a Float32Array');
  if (!Array.isArray(shape) || shape.length > NPY_MAX_RANK || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new TesseraError(`writeNpy: shape [${String(shape)}] must be at most ${NPY_MAX_RANK} non-negative integers`);
  }
  const count = shape.reduce((p, d) => p * d, 1);
  if (count !== data.length) throw new TesseraError(`writeNpy: shape [${shape.join(',')}] has ${count} elements, but data has ${data.length}`);
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${tuple}, }`;
  const major = 10 + dict.length + 1 <= 0xffff ? 1 : 2;
  const prefix = major === 1 ? 10 : 12;
  const pad = (ALIGN - ((prefix + dict.length + 1) % ALIGN)) % ALIGN;
  const header = dict + ' '.repeat(pad) + '\n';
  const out = new Uint8Array(prefix + header.length + data.length * 4);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[prefix + i] = header.charCodeAt(i);
  out.set(float32ToLittleEndian(data), prefix + header.length);
  return out;
}

// ---------------------------------------------------------------------------------------------
// The header: a Python dict literal of strings, booleans and tuples of integers.

interface Header {
  descr: Descr;
  fortranOrder: boolean;
  shape: number[];
}

type Value = string | boolean | number[];

function parseHeader(text: string): Header {
  let i = 0;
  const err = (what: string): never => fail('header', `${what} at character ${i} of ${JSON.stringify(text.trimEnd().slice(0, 120))}`);
  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const expect = (c: string) => {
    ws();
    if (text[i] !== c) err(`expected '${c}'`);
    i++;
  };
  const str = (): string => {
    ws();
    const q = text[i];
    if (q !== "'" && q !== '"') err('expected a quoted string');
    const end = text.indexOf(q, i + 1);
    if (end < 0) err('unterminated string');
    const s = text.slice(i + 1, end);
    if (s.includes('\\')) err('escapes in strings are not supported');
    i = end + 1;
    return s;
  };
  const int = (): number => {
    ws();
    const m = /^\d+L?/.exec(text.slice(i, i + 40));
    if (!m) err('expected a non-negative integer');
    const digits = m![0].replace('L', '');
    const n = Number(digits);
    if (!Number.isSafeInteger(n)) err(`dimension ${digits} is too large`);
    i += m![0].length;
    return n;
  };
  const value = (): Value => {
    ws();
    if (text[i] === "'" || text[i] === '"') return str();
    if (text.startsWith('True', i)) return (i += 4), true;
    if (text.startsWith('False', i)) return (i += 5), false;
    if (text[i] === '(') {
      i++;
      const dims: number[] = [];
      ws();
      while (text[i] !== ')') {
        if (dims.length >= NPY_MAX_RANK) err(`more than ${NPY_MAX_RANK} dimensions`);
        dims.push(int());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== ')') err("expected ',' or ')' in the shape");
        ws();
      }
      i++;
      return dims;
    }
    if (text[i] === '[') err("structured dtypes (a list as 'descr') are not supported");
    return err('expected a string, True, False or a tuple');
  };

  expect('{');
  const entries = new Map<string, Value>();
  ws();
  while (text[i] !== '}') {
    const key = str();
    if (entries.has(key)) err(`duplicate key '${key}'`);
    expect(':');
    entries.set(key, value());
    ws();
    if (text[i] === ',') i++;
    else if (text[i] !== '}') err("expected ',' or '}'");
    ws();
  }
  i++;
  ws();
  if (i !== text.length) err('unexpected text after the dict');

  for (const key of entries.keys()) {
    if (key !== 'descr' && key !== 'fortran_order' && key !== 'shape') fail('header', `unexpected key '${key}' (expected descr, fortran_order, shape)`);
  }
  const descr = entries.get('descr');
  const fortranOrder = entries.get('fortran_order');
  const shape = entries.get('shape');
  if (descr === undefined || fortranOrder === undefined || shape === undefined) {
    fail('header', `missing key '${descr === undefined ? 'descr' : fortranOrder === undefined ? 'fortran_order' : 'shape'}'`);
  }
  if (typeof descr !== 'string') fail('header', "'descr' must be a string such as '<f4'");
  if (typeof fortranOrder !== 'boolean') fail('header', "'fortran_order' must be True or False");
  if (!Array.isArray(shape)) fail('header', "'shape' must be a tuple of integers");
  if (fortranOrder) {
    fail('header', 'fortran_order is True (column-major data); only C order is supported: save with np.ascontiguousarray(a)');
  }
  if (!Object.hasOwn(ITEM_SIZE, descr)) {
    const hint = descr.startsWith('>') ? ' (big-endian data is not supported: save with a.astype("<f4"))' : '';
    fail('header', `unsupported dtype '${descr}'${hint}; supported: ${Object.keys(ITEM_SIZE).join(', ')}`);
  }
  return { descr: descr as Descr, fortranOrder, shape };
}
