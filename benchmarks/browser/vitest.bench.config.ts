import { mergeConfig } from 'vitest/config';
import base from '../../vitest.browser.config.js';

/** The browser benchmark: the same launcher as the browser tests, one long "test" that measures. */
const config = mergeConfig(base, {
  test: { testTimeout: 1_800_000 },
  optimizeDeps: { include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgl', '@tensorflow/tfjs-backend-wasm'] },
});
config.test!.include = ['benchmarks/browser/**/*.bench.browser.ts'];
export default config;
