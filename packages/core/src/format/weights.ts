import { numel, shapeStr, type Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { base64DecodedLength, decodeBase64Into, encodeBase64, float32FromLittleEndian, float32ToLittleEndian, LITTLE_ENDIAN_HOST, swap32InPlace } from './bytes.js';
import { FormatError } from './format-error.js';

/** Where a constant's float32 values are: inline as base64, or a byte range of the sidecar file. */
export type WeightData = { base64: string } | { offset: number; length: number };


/** A constant's `data` as the document schema lets it through (checkWeightData says which form). */
export interface ParsedWeightData {
  readonly base64?: string;
  readonly offset?: number;
  readonly length?: number;
}

/** Weights for saving: each inline, or all back to back in one sidecar buffer (little-endian float32). */
export function encodeWeights(tensors: readonly Tensor[], mode: 'inline' | 'sidecar'): { data: WeightData[]; sidecar?: Uint8Array } {
  if (mode === 'inline') return { data: tensors.map((t) => ({ base64: encodeBase64(float32ToLittleEndian(t.data)) })) };
  const sidecar = new Uint8Array(tensors.reduce((s, t) => s + t.data.length * 4, 0));
  const data: WeightData[] = [];
  let offset = 0;
  for (const t of tensors) {
    sidecar.set(float32ToLittleEndian(t.data), offset);
    data.push({ offset, length: t.data.length });
    offset += t.data.length * 4;
  }
  return { data, sidecar };
}
/** Checks a constant's data against its shape and the sidecar, from lengths alone (no allocation). */
export function checkWeightData(data: ParsedWeightData, s: Shape, sidecar: Uint8Array | undefined, path: string): void {
  const hasInline = data.base64 !== undefined;
  const hasRange = data.offset !== undefined || data.length !== undefined;
  if (hasInline === hasRange) {
    throw new FormatError(path, `expected either {"base64": string} or {"offset": bytes, "length": floats}, got keys ${Object.keys(data).join(', ') || '(none)'}`);
  }
  const count = numel(s);
  if (hasInline) {
    const bytes = base64DecodedLength(data.base64!);
    if (typeof bytes === 'string') throw new FormatError(`${path}.base64`, bytes);
    if (bytes !== count * 4) {
      throw new FormatError(`${path}.base64`, `decodes to ${bytes} bytes, but shape ${shapeStr(s)} needs ${count * 4} bytes (${count} float32 values)`);
    }
    return;
  }
  if (data.offset === undefined) throw new FormatError(`${path}.offset`, 'missing (the byte offset into the sidecar file)');
  if (data.length === undefined) throw new FormatError(`${path}.length`, 'missing (the number of float32 values)');
  if (data.length !== count) throw new FormatError(`${path}.length`, `${data.length} floats, but shape ${shapeStr(s)} has ${count} elements`);
  if (sidecar === undefined) throw new FormatError(path, 'the weights are in a sidecar file, but no sidecar was given');
  const end = data.offset + count * 4;
  if (end > sidecar.byteLength) {
    throw new FormatError(path, `bytes ${data.offset}..${end} are outside the sidecar file of ${sidecar.byteLength} bytes`);
  }
}

/** Decodes data already checked by checkWeightData; allocates exactly numel(shape) floats. */
export function decodeWeights(data: ParsedWeightData, s: Shape, sidecar: Uint8Array | undefined, path: string): Float32Array {
  const count = numel(s);
  if (data.base64 !== undefined) {
    const out = new Float32Array(count);
    const bytes = new Uint8Array(out.buffer);
    const problem = decodeBase64Into(data.base64, bytes);
    if (problem !== undefined) throw new FormatError(`${path}.base64`, problem);
    if (!LITTLE_ENDIAN_HOST) swap32InPlace(bytes);
    return out;
  }
  return float32FromLittleEndian(sidecar!, data.offset!, count);
}
