/**
 * Shared memories of disposed executables, kept for the next compile. A shared memory is freed
 * only when every thread that holds it has collected its handle, and V8 does not count shared
 * memories towards the pressure that triggers a collection: a process compiling and disposing
 * graphs in a loop would otherwise grow by a memory per cycle until its threads happen to
 * collect. Reusing them keeps it flat; the cache holds a few and a bounded total.
 */
export class SharedMemoryCache {
  private readonly free: WebAssembly.Memory[] = [];

  constructor(
    private readonly maxEntries = 4,
    private readonly maxBytes = 512 * 2 ** 20,
  ) {}

  /** A cached memory of at least `bytes` and at most twice that (the smallest), or null. */
  take(bytes: number): WebAssembly.Memory | null {
    let best = -1;
    this.free.forEach((m, i) => {
      const size = m.buffer.byteLength;
      if (size >= bytes && size <= 2 * bytes && (best < 0 || size < this.free[best].buffer.byteLength)) best = i;
    });
    return best < 0 ? null : this.free.splice(best, 1)[0];
  }

  /** Keeps `memory` (no thread uses it any more), dropping the oldest beyond the bounds. */
  give(memory: WebAssembly.Memory): void {
    this.free.push(memory);
    while (this.free.length > this.maxEntries || this.bytes() > this.maxBytes) this.free.shift();
  }

  clear(): void {
    this.free.length = 0;
  }

  /** Memories kept (for leak checks). */
  get size(): number {
    return this.free.length;
  }

  private bytes(): number {
    return this.free.reduce((sum, m) => sum + m.buffer.byteLength, 0);
  }
}
