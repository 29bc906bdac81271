import { vi } from 'vitest';
import { runCli, type CliHooks } from '../../packages/cli/src/program.js';

/** Runs the `tessera` command in this process, capturing what it prints (console and its own output). */
export async function captureCli(argv: readonly string[], hooks: CliHooks = {}): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(`${a.join(' ')}\n`));
  const error = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(`${a.join(' ')}\n`));
  try {
    const code = await runCli(argv, { out: (t) => void out.push(t), err: (t) => void err.push(t) }, hooks);
    return { code, out: out.join(''), err: err.join('') };
  } finally {
    log.mockRestore();
    error.mockRestore();
  }
}
