import { open, type FileHandle } from 'node:fs/promises';
import { FormatError } from './format-error.js';

/*
 * Node-only reading that never takes more than the caller asked for: a file may be a pipe,
 * /dev/zero or far larger than its header says, so every read has a limit and memory grows
 * only with the bytes actually read.
 */

/** Largest piece read at once from a file whose size is unknown (a pipe, a device). */
const CHUNK = 1 << 20;

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** An open file read from the start in bounded pieces. Errors are FormatErrors naming the file. */
export class BoundedFile {
  private position = 0;
  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    readonly what: string,
    /** The size of a regular file; undefined for anything else (a pipe, a device). */
    readonly size: number | undefined,
  ) {}

  /** Opens `path`; `what` names it in errors ("graph file", "npy file", ...), `failure` words a failure to open. */
  static async open(path: string, what: string, failure?: (reason: string) => FormatError): Promise<BoundedFile> {
    let handle: FileHandle | undefined;
    try {
      handle = await open(path, 'r');
      const stat = await handle.stat();
      if (stat.isDirectory()) throw new Error('it is a directory');
      return new BoundedFile(handle, path, what, stat.isFile() ? stat.size : undefined);
    } catch (e) {
      await handle?.close();
      throw failure?.(reason(e)) ?? new FormatError('', `cannot read the ${what}: ${reason(e)}`, path);
    }
  }

  /** Bytes of the file not yet read, when its size is known. */
  get remaining(): number | undefined {
    return this.size === undefined ? undefined : Math.max(0, this.size - this.position);
  }

  /** The next `n` bytes, or fewer at the end of the file; never allocates more than min(n, what the file holds). */
  async read(n: number): Promise<Uint8Array> {
    const known = this.remaining;
    if (known !== undefined) return this.fill(new Uint8Array(Math.min(n, known)));
    const pieces: Uint8Array[] = [];
    let got = 0;
    while (got < n) {
      const piece = await this.fill(new Uint8Array(Math.min(CHUNK, n - got)));
      pieces.push(piece);
      got += piece.length;
      if (piece.length === 0) break;
    }
    return pieces.length === 1 ? pieces[0] : concatBytes(pieces);
  }

  /** True if nothing follows what has been read (reads at most one byte to find out). */
  async atEnd(): Promise<boolean> {
    if (this.remaining !== undefined && this.remaining > 0) return false;
    return (await this.read(1)).length === 0;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /** Reads into `buf` until it is full or the file ends; returns the part filled. */
  private async fill(buf: Uint8Array): Promise<Uint8Array> {
    let at = 0;
    try {
      while (at < buf.length) {
        const { bytesRead } = await this.handle.read(buf, at, buf.length - at, this.position);
        if (bytesRead === 0) break;
        at += bytesRead;
        this.position += bytesRead;
      }
    } catch (e) {
      throw new FormatError('', `cannot read the ${this.what}: ${reason(e)}`, this.path);
    }
    return at === buf.length ? buf : buf.subarray(0, at);
  }
}

/** Runs `use` on the open file and closes it, whatever happens. */
export async function withBoundedFile<T>(path: string, what: string, use: (f: BoundedFile) => Promise<T>): Promise<T> {
  const f = await BoundedFile.open(path, what);
  try {
    return await use(f);
  } finally {
    await f.close();
  }
}

/** A whole file of at most `limit` bytes; a longer one is refused before (regular file) or as soon as (other) it shows. */
export function readFileBounded(path: string, limit: number, what: string): Promise<Uint8Array> {
  return withBoundedFile(path, what, async (f) => {
    const tooLong = () => new FormatError('', `the ${what} is larger than the limit of ${limit} bytes`, path);
    if (f.size !== undefined && f.size > limit) throw tooLong();
    const bytes = await f.read(limit);
    if (!(await f.atEnd())) throw tooLong();
    return bytes;
  });
}

/** A whole file of at most `limit` bytes as UTF-8 text. */
export async function readTextBounded(path: string, limit: number, what: string): Promise<string> {
  const bytes = await readFileBounded(path, limit, what);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FormatError('', `the ${what} is not valid UTF-8 text`, path);
  }
}

export function concatBytes(pieces: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
