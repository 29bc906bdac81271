import { TesseraError } from '../errors.js';
import { FormatError } from './format-error.js';
import { MAX_ELEMENTS } from '../shape.js';
import { float16ToNumber, float32FromLittleEndian, float32ToLittleEndian } from './bytes.js';

/**
 * NumPy `.npy` arrays (format versions 1.0, 2.0 and 3.0). Reads little-endian float32, float64,
 * float16, int32 and int64 in C order, converting to float32; writes float32. Pure and browser-safe.
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

export type NpyDescr = '<f4' | '<f8' | '<f2' | '<i4' | '<i8';
const ITEM_SIZE: Record<NpyDescr, number> = { '<f4': 4, '<f8': 8, '<f2': 2, '<i4': 4, '<i8': 8 };

function fail(where: string, problem: string): never {
  throw new FormatError(`npy ${where}`, problem);
}

/** What the first bytes of a .npy say: the version and where the header and the data start. */
export interface NpyPrelude {
  readonly major: number;
  readonly headerStart: number;
  readonly dataStart: number;
}

/** The parsed header: the array's shape and dtype, and how many data bytes must follow it. */
export interface NpyHeader extends NpyPrelude {
  readonly shape: number[];
  readonly descr: NpyDescr;
  readonly count: number;
  readonly dataBytes: number;
}

export function readNpy(bytes: Uint8Array): NpyArray {
  if (!(bytes instanceof Uint8Array)) fail('file', 'expected a Uint8Array');
  const prelude = readNpyPrelude(bytes);
  if (prelude.dataStart > bytes.length) {
    fail('header', `declares ${prelude.dataStart - prelude.headerStart} bytes, but only ${bytes.length - prelude.headerStart} bytes follow the header length`);
  }
  const header = readNpyHeader(bytes, prelude);
  const have = bytes.length - header.dataStart;
  if (have !== header.dataBytes) npyDataLengthError(header, have);
  return decodeNpyData(header, bytes.subarray(header.dataStart));
}

/** Checks magic and version and reads the header length (refusing one beyond NPY_MAX_HEADER); `bytes` starts the file. */
export function readNpyPrelude(bytes: Uint8Array): NpyPrelude {
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
  if (headerLen > NPY_MAX_HEADER) fail('header', `declares ${headerLen} bytes, more than the limit of ${NPY_MAX_HEADER}`);
  const headerStart = 8 + lengthSize;
  return { major, headerStart, dataStart: headerStart + headerLen };
}

/** Parses the header; `bytes` starts the file and holds at least `prelude.dataStart` bytes. */
export function readNpyHeader(bytes: Uint8Array, prelude: NpyPrelude): NpyHeader {
  const { major, headerStart, dataStart } = prelude;
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
  const { shape, descr } = parseHeader(text);
  const count = countElements(shape);
  return { ...prelude, shape, descr, count, dataBytes: count * ITEM_SIZE[descr] };
}

/** Throws the error for data of the wrong length: `have` bytes, or more than that with `more`. */
export function npyDataLengthError(header: NpyHeader, have: number, more = false): never {
  const trailing = more || have > header.dataBytes ? ' (trailing bytes)' : '';
  return fail(
    'data',
    `shape (${header.shape.join(', ')}) of ${header.descr} needs ${header.dataBytes} bytes, but the file has ${more ? 'more than ' : ''}${have} bytes after the header${trailing}`,
  );
}

/** The array from exactly `header.dataBytes` bytes of data. */
export function decodeNpyData(header: NpyHeader, data: Uint8Array): NpyArray {
  if (data.length !== header.dataBytes) npyDataLengthError(header, data.length);
  return { shape: header.shape, data: convert(data, 0, header.count, header.descr) };
}

function convert(bytes: Uint8Array, start: number, count: number, descr: NpyDescr): Float32Array {
  if (descr === '<f4') return float32FromLittleEndian(bytes, start, count);
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, count * ITEM_SIZE[descr]);
  if (descr === '<f8') for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
  else if (descr === '<f2') for (let i = 0; i < count; i++) out[i] = float16ToNumber(view.getUint16(i * 2, true));
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
  descr: NpyDescr;
  fortranOrder: boolean;
  shape: number[];
}

type Value = string | boolean | number[];

function parseHeader(text: string): Header {
  return headerFields(new DictReader(text).dict());
}

/** A cursor over the header text; an error names the character it stopped at. */
class DictReader {
  private i = 0;
  constructor(private readonly text: string) {}

  /** The whole text as one dict literal (and nothing after it but white space). */
  dict(): Map<string, Value> {
    const { text } = this;
    this.expect('{');
    const entries = new Map<string, Value>();
    this.ws();
    while (text[this.i] !== '}') {
      const key = this.str();
      if (entries.has(key)) this.err(`duplicate key '${key}'`);
      this.expect(':');
      entries.set(key, this.value());
      this.ws();
      if (text[this.i] === ',') this.i++;
      else if (text[this.i] !== '}') this.err("expected ',' or '}'");
      this.ws();
    }
    this.i++;
    this.ws();
    if (this.i !== text.length) this.err('unexpected text after the dict');
    return entries;
  }

  private err(what: string): never {
    return fail('header', `${what} at character ${this.i} of ${JSON.stringify(this.text.trimEnd().slice(0, 120))}`);
  }

  private ws(): void {
    const { text } = this;
    while (this.i < text.length && (text[this.i] === ' ' || text[this.i] === '\t' || text[this.i] === '\n' || text[this.i] === '\r')) this.i++;
  }

  private expect(c: string): void {
    this.ws();
    if (this.text[this.i] !== c) this.err(`expected '${c}'`);
    this.i++;
  }

  private str(): string {
    this.ws();
    const q = this.text[this.i];
    if (q !== "'" && q !== '"') this.err('expected a quoted string');
    const end = this.text.indexOf(q, this.i + 1);
    if (end < 0) this.err('unterminated string');
    const s = this.text.slice(this.i + 1, end);
    if (s.includes('\\')) this.err('escapes in strings are not supported');
    this.i = end + 1;
    return s;
  }

  private int(): number {
    this.ws();
    const m = /^\d+L?/.exec(this.text.slice(this.i, this.i + 40));
    if (!m) return this.err('expected a non-negative integer');
    const digits = m[0].replace('L', '');
    const n = Number(digits);
    if (!Number.isSafeInteger(n)) this.err(`dimension ${digits} is too large`);
    this.i += m[0].length;
    return n;
  }

  private value(): Value {
    this.ws();
    const { text } = this;
    if (text[this.i] === "'" || text[this.i] === '"') return this.str();
    if (text.startsWith('True', this.i)) return (this.i += 4), true;
    if (text.startsWith('False', this.i)) return (this.i += 5), false;
    if (text[this.i] === '(') return this.tuple();
    if (text[this.i] === '[') this.err("structured dtypes (a list as 'descr') are not supported");
    return this.err('expected a string, True, False or a tuple');
  }

  private tuple(): number[] {
    const { text } = this;
    this.i++;
    const dims: number[] = [];
    this.ws();
    while (text[this.i] !== ')') {
      if (dims.length >= NPY_MAX_RANK) this.err(`more than ${NPY_MAX_RANK} dimensions`);
      dims.push(this.int());
      this.ws();
      if (text[this.i] === ',') this.i++;
      else if (text[this.i] !== ')') this.err("expected ',' or ')' in the shape");
      this.ws();
    }
    this.i++;
    return dims;
  }
}

/** The three keys numpy writes, checked for what this reader supports. */
function headerFields(entries: ReadonlyMap<string, Value>): Header {
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
  return { descr: descr as NpyDescr, fortranOrder, shape };
}
