/**
 * Whether a typed array is a view of a given WebAssembly.Memory. Comparing `arr.buffer` with
 * `memory.buffer` is not enough: in V8, growing any shared WebAssembly.Memory gives every shared
 * memory of the thread a new `.buffer` object (same memory, same data), while the views made
 * before keep the old one. So a buffer that is not the memory's current one is tested once, by
 * writing through the memory and reading back through the buffer, and the answer is kept.
 */

/** True when `buffer` is backed by the same memory as `own` (a float this thread may overwrite). */
export function aliases(buffer: ArrayBufferLike, own: Float32Array, index: number): boolean {
  if (!(buffer instanceof SharedArrayBuffer) || !(own.buffer instanceof SharedArrayBuffer)) return false;
  const byteOffset = own.byteOffset + 4 * index;
  if (buffer.byteLength !== own.buffer.byteLength || byteOffset + 4 > buffer.byteLength) return false;
  const theirs = new Float32Array(buffer, byteOffset, 1);
  const saved = own[index];
  let same = true;
  for (const token of [1.5, -2.25]) {
    own[index] = token;
    same &&= theirs[0] === token;
  }
  own[index] = saved;
  return same;
}

/** Recognizes views of one memory; `probeByteOffset`: 4 bytes of it only this thread writes. */
export class MemoryViews {
  private current: ArrayBufferLike;
  private readonly known = new WeakMap<ArrayBufferLike, boolean>();

  constructor(
    readonly memory: WebAssembly.Memory,
    private readonly probeByteOffset: number | null,
  ) {
    this.current = memory.buffer;
  }

  /** True if arr is a view of the memory (cheap when its buffer is the one last seen). */
  has(arr: ArrayBufferView): boolean {
    return arr.buffer === this.current || this.recognize(arr.buffer);
  }

  private recognize(buffer: ArrayBufferLike): boolean {
    const now = this.memory.buffer;
    if (buffer === now) {
      this.current = now;
      return true;
    }
    let verdict = this.known.get(buffer);
    if (verdict === undefined) {
      verdict = this.probeByteOffset !== null && aliases(buffer, new Float32Array(now, this.probeByteOffset, 1), 0);
      this.known.set(buffer, verdict);
    }
    return verdict;
  }
}
