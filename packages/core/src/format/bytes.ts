/**
 * Byte helpers shared by the graph file format and .npy: strict base64 and little-endian
 * float32 <-> bytes. Pure and browser-safe (no Buffer, no atob).
 */

/** True on little-endian hosts (every browser and Node platform in practice); big-endian hosts take the slow, correct path. */
export const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DECODE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

const ALPHABET_CODES = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0));
const PAD = 0x3d; // '='

/** Standard base64 (RFC 4648, with `=` padding) of some bytes. */
export function encodeBase64(bytes: Uint8Array): string {
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  const A = ALPHABET_CODES;
  let i = 0;
  let o = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out[o++] = A[n >> 18];
    out[o++] = A[(n >> 12) & 63];
    out[o++] = A[(n >> 6) & 63];
    out[o++] = A[n & 63];
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const n = (bytes[i] << 16) | (rest === 2 ? bytes[i + 1] << 8 : 0);
    out[o++] = A[n >> 18];
    out[o++] = A[(n >> 12) & 63];
    out[o++] = rest === 2 ? A[(n >> 6) & 63] : PAD;
    out[o++] = PAD;
  }
  return new TextDecoder().decode(out);
}

/**
 * The number of bytes a base64 string decodes to, from its length and padding alone (no
 * decoding, no allocation), or a reason why it cannot be base64.
 */
export function base64DecodedLength(s: string): number | string {
  if (s.length % 4 !== 0) return `base64 text has length ${s.length}, which is not a multiple of 4`;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  return (s.length / 4) * 3 - pad;
}

/**
 * Decodes strict base64 into `out`, whose length must be `base64DecodedLength(s)`.
 * Returns undefined on success or a description of the first bad character.
 */
export function decodeBase64Into(s: string, out: Uint8Array): string | undefined {
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const body = s.length - pad;
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < body; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? DECODE[c] : -1;
    if (v < 0) return `base64 text has an invalid character ${JSON.stringify(s[i])} at index ${i}`;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return o === out.length ? undefined : `base64 text decodes to ${o} bytes, expected ${out.length}`;
}

/** The little-endian bytes of float32 data (a view when the host is little-endian, else a copy). */
export function float32ToLittleEndian(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}

/** Reads `count` little-endian float32 values starting at `byteOffset`; the caller has checked the range. */
export function float32FromLittleEndian(bytes: Uint8Array, byteOffset: number, count: number): Float32Array {
  const out = new Float32Array(count);
  const src = bytes.subarray(byteOffset, byteOffset + count * 4);
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer).set(src);
  } else {
    const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

/** Swaps every 4-byte group in place (little-endian bytes -> host order on a big-endian host). */
export function swap32InPlace(bytes: Uint8Array): void {
  for (let i = 0; i + 3 < bytes.length; i += 4) {
    const a = bytes[i];
    const b = bytes[i + 1];
    bytes[i] = bytes[i + 3];
    bytes[i + 1] = bytes[i + 2];
    bytes[i + 2] = b;
    bytes[i + 3] = a;
  }
}

/** An IEEE half-precision value (its 16 bits) as a number: exact, subnormals, infinities and NaN included. */
export function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const bf16Scratch = new DataView(new ArrayBuffer(4));

/** A bfloat16 value (its 16 bits): the upper half of a float32, so exact. */
export function bfloat16ToNumber(bits: number): number {
  bf16Scratch.setUint32(0, bits << 16);
  return bf16Scratch.getFloat32(0);
}
