import { unzipSync } from 'fflate';
import { MAX_ELEMENTS, shapeStr, type Shape } from '../shape.js';
import { Tensor } from '../tensor.js';
import { bfloat16ToNumber, float16ToNumber, float32FromLittleEndian } from './bytes.js';
import { FormatError } from './format-error.js';
import { decodeNpyData, readNpyHeader, readNpyPrelude } from './npy.js';

/*
 * Trained weights for graphs built in code: named tensors from NumPy `.npz` archives (a zip of
 * .npy files, stored or deflated) and `.safetensors` files (an 8-byte header length, a JSON
 * header of dtype / shape / data_offsets, then the raw little-endian data). Float32 is read as
 * it is; float16, bfloat16 and float64 are converted to float32; anything else is refused by
 * name. Pure and browser-safe: the bytes come from the caller (`readWeightsFile` in
 * `@tessera/core/node` reads a file).
 */

export type WeightFormat = 'npz' | 'safetensors';

interface Entry {
  readonly shape: Shape;
  /** The file's name for the element type ('F16', '<f4', ...), for messages. */
  readonly dtype: string;
  /** Null when the dtype is not a float type (then `tensor` refuses the name). */
  readonly decode: (() => Float32Array) | null;
}

/** The named tensors of one weight file. */
export class WeightFile {
  constructor(
    readonly format: WeightFormat,
    /** The file's name (or a label) for messages. */
    readonly source: string,
    private readonly entries: ReadonlyMap<string, Entry>,
  ) {}

  /** Every tensor name, in file order. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The tensor `name` as float32; with `shape`, refuses a tensor of any other shape. */
  tensor(name: string, shape?: Shape): Tensor {
    const entry = this.entries.get(name);
    if (!entry) throw this.error(`no tensor named '${name}'; it has ${this.listNames()}`);
    if (shape && (shape.length !== entry.shape.length || shape.some((d, i) => d !== entry.shape[i]))) {
      throw this.error(`tensor '${name}' has shape ${shapeStr(entry.shape)}, expected ${shapeStr(shape)}`);
    }
    if (!entry.decode) {
      throw this.error(`tensor '${name}' has dtype ${entry.dtype}; only float types are read (float32, float16, bfloat16, float64)`);
    }
    return new Tensor(entry.shape, entry.decode());
  }

  private listNames(): string {
    const names = this.names();
    if (names.length === 0) return 'no tensors';
    const shown = names.slice(0, 12).map((n) => `'${n}'`).join(', ');
    return names.length > 12 ? `${names.length} tensors: ${shown}, ...` : `${shown}`;
  }

  private error(problem: string): FormatError {
    return new FormatError(this.format, problem, this.source);
  }
}

const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

/** Reads an .npz or .safetensors file's bytes (told apart by their first bytes). */
export function readWeights(bytes: Uint8Array, source = 'weights'): WeightFile {
  if (!(bytes instanceof Uint8Array)) throw new FormatError('weights', 'expected a Uint8Array', source);
  const format: WeightFormat = ZIP_MAGIC.every((b, i) => bytes[i] === b) ? 'npz' : 'safetensors';
  try {
    return new WeightFile(format, source, format === 'npz' ? npzEntries(bytes) : safetensorsEntries(bytes));
  } catch (e) {
    if (e instanceof FormatError && e.file === undefined) throw new FormatError(e.path, e.problem, source);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// .npz

/** Largest archive content inflated (the elements a graph may hold, as float64). */
const MAX_NPZ_BYTES = 2 ** 32;

function npzEntries(bytes: Uint8Array): Map<string, Entry> {
  let total = 0;
  let files: Record<string, Uint8Array>;
  try {
    // Sizes are checked from the directory before anything is inflated: no zip bomb gets memory.
    files = unzipSync(bytes, {
      filter: (f) => {
        total += f.originalSize;
        if (total > MAX_NPZ_BYTES) throw new FormatError('npz', `holds more than ${MAX_NPZ_BYTES} bytes of arrays`);
        return true;
      },
    });
  } catch (e) {
    if (e instanceof FormatError) throw e;
    throw new FormatError('npz', `is not a readable zip archive (${e instanceof Error ? e.message : String(e)})`);
  }
  const entries = new Map<string, Entry>();
  for (const [file, data] of Object.entries(files)) {
    if (!file.endsWith('.npy')) throw new FormatError('npz', `member '${file}' is not a .npy array`);
    entries.set(file.slice(0, -4), npyEntry(file, data));
  }
  return entries;
}

function npyEntry(file: string, data: Uint8Array): Entry {
  try {
    const header = readNpyHeader(data, readNpyPrelude(data));
    const float = header.descr.startsWith('<f');
    return { shape: header.shape, dtype: header.descr, decode: float ? () => decodeNpyData(header, data.subarray(header.dataStart)).data : null };
  } catch (e) {
    if (e instanceof FormatError) throw new FormatError(`npz member '${file}': ${e.path}`, e.problem);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// .safetensors

/** Largest JSON header read (the format's own reference implementation allows 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;

const SAFETENSORS_FLOATS: Record<string, { size: number; read: (view: DataView, i: number) => number }> = {
  F32: { size: 4, read: (v, i) => v.getFloat32(i * 4, true) },
  F16: { size: 2, read: (v, i) => float16ToNumber(v.getUint16(i * 2, true)) },
  BF16: { size: 2, read: (v, i) => bfloat16ToNumber(v.getUint16(i * 2, true)) },
  F64: { size: 8, read: (v, i) => v.getFloat64(i * 8, true) },
};

/** Bytes per element of the other dtypes, so their offsets are checked too. */
const SAFETENSORS_OTHERS: Record<string, number> = { BOOL: 1, U8: 1, I8: 1, F8_E4M3: 1, F8_E5M2: 1, I16: 2, U16: 2, I32: 4, U32: 4, I64: 8, U64: 8 };

function safetensorsEntries(bytes: Uint8Array): Map<string, Entry> {
  const fail = (problem: string): never => {
    throw new FormatError('safetensors', problem);
  };
  if (bytes.length < 8) fail(`is ${bytes.length} bytes long: not a .npz (zip) or .safetensors file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES) fail(`declares a header of ${headerLen} bytes (limit ${MAX_HEADER_BYTES}): not a .npz (zip) or .safetensors file`);
  if (8 + headerLen > bytes.length) fail(`declares a header of ${headerLen} bytes, but the file has ${bytes.length - 8} after the length`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
  } catch (e) {
    fail(`header is not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const data = bytes.subarray(8 + headerLen);
  const entries = new Map<string, Entry>();
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    entries.set(name, safetensorsEntry(name, info, data, fail));
  }
  return entries;
}

function safetensorsEntry(name: string, info: unknown, data: Uint8Array, fail: (p: string) => never): Entry {
  const at = `tensor '${name}'`;
  const { dtype, shape, data_offsets: offsets } = (info ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof dtype !== 'string') return fail(`${at}: 'dtype' must be a string such as "F32"`);
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) return fail(`${at}: 'shape' must be a list of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || offsets.some((o) => !Number.isSafeInteger(o) || o < 0)) {
    return fail(`${at}: 'data_offsets' must be [begin, end]`);
  }
  const [begin, end] = offsets as [number, number];
  const float = SAFETENSORS_FLOATS[dtype];
  const size = float?.size ?? SAFETENSORS_OTHERS[dtype];
  // A dtype this reader does not know stays listed, refused only if asked for.
  if (size === undefined) return { shape, dtype, decode: null };
  const count = shape.reduce((p: number, d: number) => p * d, 1);
  if (count > MAX_ELEMENTS) return fail(`${at}: shape ${shapeStr(shape)} has more than ${MAX_ELEMENTS} elements`);
  if (end < begin || end > data.length) return fail(`${at}: data_offsets [${begin}, ${end}] lie outside the ${data.length} data bytes`);
  if (end - begin !== count * size) return fail(`${at}: shape ${shapeStr(shape)} of ${dtype} needs ${count * size} bytes, data_offsets span ${end - begin}`);
  const bytes = data.subarray(begin, end);
  return { shape, dtype, decode: float ? () => decodeFloats(bytes, count, float) : null };
}

function decodeFloats(bytes: Uint8Array, count: number, type: (typeof SAFETENSORS_FLOATS)[string]): Float32Array {
  if (type === SAFETENSORS_FLOATS.F32) return float32FromLittleEndian(bytes, 0, count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = type.read(view, i);
  return out;
}
