import { mergeConfig } from 'vitest/config';
import base from '../../vitest.browser.config.js';

/** Runs one browser benchmark file named by $BENCH_FILE with the browser tests' launcher. */
const config = mergeConfig(base, { test: { testTimeout: 1_800_000 } });
config.test!.include = [process.env.BENCH_FILE ?? 'benchmarks/browser/workloads.bench.browser.ts'];
export default config;
