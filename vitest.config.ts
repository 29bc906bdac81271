import { defineConfig } from 'vitest/config';

/** With TESSERA_TEST_JSON set (as .ci/run does), results are also written there as JSON. */
const json = process.env.TESSERA_TEST_JSON;

export default defineConfig({
  resolve: { conditions: ['@tessera/source'] },
  ssr: { resolve: { conditions: ['@tessera/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'tests/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/*.browser.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: json ? ['default', 'json'] : ['default'],
    outputFile: json ? { json: `${json}/node.json` } : undefined,
  },
});
