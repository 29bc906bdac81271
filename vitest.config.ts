import { defineConfig } from 'vitest/config';

/** With TESSERA_TEST_JSON set (as .ci/run does), results are also written there as JSON. */
const json = process.env.TESSERA_TEST_JSON;

export default defineConfig({
  resolve: { conditions: ['@tessera/source'] },
  ssr: { resolve: { conditions: ['@tessera/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'tests/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/*.browser.test.ts'],
    // Two files at a time on this 2-core machine kind (vitest's default is cores - 1): most of a
    // file's time is module loading, which overlaps well; 8.2 -> 5.5 min for the Node suite.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: json ? ['default', 'json'] : ['default'],
    outputFile: json ? { json: `${json}/node.json` } : undefined,
  },
});
