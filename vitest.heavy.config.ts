import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/** `pnpm test:heavy`: the long suites (the mutation score, workers on 3 threads), run by CI after `pnpm test`. */
const json = process.env.TESSERA_TEST_JSON;
const config = mergeConfig(base, defineConfig({ test: { outputFile: json ? { json: `${json}/heavy.json` } : undefined } }));
config.test!.include = ['tests/**/*.heavy.ts'];
export default config;
