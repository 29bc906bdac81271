import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
// @ts-expect-error: a plain .mjs script without type declarations
import { CHROMIUM_ARGS, chromiumHint, findChromium } from './scripts/ensure-chromium.mjs';

/**
 * Browser tests (`tests/browser/**\/*.browser.test.ts`) in headless Chromium through vitest's
 * browser mode. The browser is the system's Chromium ($CHROMIUM_PATH or a known path), never a
 * downloaded one; without it the run fails with the hint of scripts/ensure-chromium.mjs.
 * The page is cross-origin isolated (COOP / COEP) so SharedArrayBuffer works.
 */
/** With TESSERA_TEST_JSON set (as .ci/run does), results are also written there as JSON. */
const json = process.env.TESSERA_TEST_JSON;

const executablePath: string | null = findChromium();
if (!executablePath) throw new Error(chromiumHint());

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  resolve: { conditions: ['@tessera/source'] },
  ssr: { resolve: { conditions: ['@tessera/source'] } },
  server: { headers: isolation },
  // Known up front, so vite never reloads the page mid-run to add a dependency it discovered late.
  optimizeDeps: { include: ['fast-check', 'zod', 'rxjs', 'inversify', 'reflect-metadata'] },
  preview: { headers: isolation },
  test: {
    include: ['tests/browser/**/*.browser.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    reporters: json ? ['default', 'json'] : ['default'],
    outputFile: json ? { json: `${json}/browser.json` } : undefined,
    browser: {
      enabled: true,
      headless: true,
      screenshotFailures: false,
      provider: playwright({ launchOptions: { executablePath, args: CHROMIUM_ARGS } }),
      instances: [{ browser: 'chromium' }],
    },
  },
});
