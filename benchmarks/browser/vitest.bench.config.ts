import { mergeConfig } from 'vitest/config';
import base from '../../vitest.browser.config.js';

/** The browser benchmark: the same launcher as the browser tests, one long "test" that measures. */
const config = mergeConfig(base, {
  test: { testTimeout: 1_800_000 },
  // onnxruntime-web is served as it is: it loads its .wasm (and starts its threads) from its own URL.
  optimizeDeps: { include: ['@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-webgl', '@tensorflow/tfjs-backend-wasm', 'protobufjs'], exclude: ['onnxruntime-web'] },
});
config.test!.include = ['benchmarks/browser/**/*.bench.browser.ts'];
export default config;
