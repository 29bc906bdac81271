import { defineConfig } from 'vitest/config';

/** The pack-and-install test (install.pack.ts): minutes long, run by .ci/run after pnpm test. */
const json = process.env.TESSERA_TEST_JSON;

export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['tests/pack/**/*.pack.ts'],
    testTimeout: 300_000,
    hookTimeout: 900_000,
    reporters: json ? ['default', 'json'] : ['default'],
    outputFile: json ? { json: `${json}/pack.json` } : undefined,
  },
});
