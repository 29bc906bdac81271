import { defineConfig } from 'vitest/config';

/** `pnpm test:soak`: long memory checks, outside `pnpm test` (whose include does not reach *.soak.ts). */
export default defineConfig({
  resolve: { conditions: ['@tessera/source'] },
  ssr: { resolve: { conditions: ['@tessera/source'] } },
  test: {
    include: ['tests/soak/**/*.soak.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
    // One file at a time and in one fork: RSS is the process's, another test would move it.
    fileParallelism: false,
    pool: 'forks',
    execArgv: ['--expose-gc'],
  },
});
