import { access, stat } from 'node:fs/promises';
import { constants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CpuBackend } from '@tessera/backend-cpu';
import { defaultContainer, registerBackend, type SessionOptions } from '@tessera/runtime';

/*
 * Option values checked before any work: every numeric flag goes through intFlag, every output
 * path through checkOutputPath, so a typo fails at once with the flag's name, not after a run.
 */

export interface IntRange {
  readonly min: number;
  readonly max: number;
}

/** The largest fast-check / prng seed the commands take (31 bits, as `freshSeed` draws them). */
export const MAX_SEED = 2 ** 31 - 1;

/** A flag's value as an integer in [min, max], written in plain decimal digits (no 1e3, 0x10, 1.0). */
export function intFlag(flag: string, raw: string, range: IntRange): number {
  const value = /^-?\d{1,16}$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
    throw new Error(`${flag}: expected an integer from ${range.min} to ${range.max}, got '${raw}'`);
  }
  return value;
}

/** Refuses an output path that cannot be written: its directory is missing or read-only, or it is a directory. */
export async function checkOutputPath(flag: string, path: string): Promise<void> {
  const dir = dirname(resolve(path));
  const isDir = await stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new Error(`${flag} ${path}: the directory ${dir} does not exist`);
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw new Error(`${flag} ${path}: is a directory, expected a file path`);
  try {
    await access(existing ? path : dir, constants.W_OK);
  } catch {
    throw new Error(`${flag} ${path}: ${existing ? 'the file' : `the directory ${dir}`} is not writable`);
  }
}

/** `name=value` split at the first '=' (the name may be left out when there is a default). */
export function splitPair(flag: string, spec: string, form: string, defaultName?: string): [string, string] {
  const eq = spec.indexOf('=');
  if (eq > 0) return [spec.slice(0, eq), spec.slice(eq + 1)];
  if (defaultName !== undefined && eq < 0) return [defaultName, spec];
  throw new Error(`${flag} ${spec}: expected ${form}`);
}

/** A map's entry as an own property only: 'toString' or 'constructor' are names, not Object.prototype's members. */
export function own<T>(map: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

/** The algorithms the cpu and workers backends may run instead of the direct ones, each with a `--no-<name>` flag. */
export const ALGORITHMS = ['winograd', 'strassen'] as const;

/** The algorithm flags of `run` and `conformance`: false with `--no-winograd`, `--no-strassen`. */
export type AlgorithmFlags = { readonly [A in (typeof ALGORITHMS)[number]]?: boolean };

/**
 * `--no-winograd`, `--no-strassen` (run, conformance): the container's `cpu` and `workers`
 * backends run every conv / matmul with the direct algorithm, for its rounding bit for bit
 * (docs/SEMANTICS.md "Winograd convolution", "Strassen matmul").
 */
export async function applyAlgorithmFlags(flags: AlgorithmFlags, container: NonNullable<SessionOptions['container']> = defaultContainer): Promise<void> {
  const off = ALGORITHMS.filter((a) => flags[a] === false);
  if (off.length === 0) return;
  const options = Object.fromEntries(off.map((a) => [a, 'off' as const]));
  const direct = off.map((a) => `--no-${a}`).join(' ');
  registerBackend(container, 'cpu', () => new CpuBackend(options), `WebAssembly SIMD GEMM + TypeScript kernels on the calling thread; direct algorithms (${direct})`);
  const { registerWorkersBackend } = await import('@tessera/backend-workers');
  registerWorkersBackend(container, options);
}
