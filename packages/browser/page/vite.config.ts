import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * Builds the page into dist/page at the package's build, from the other packages' dist (no
 * source condition): an installed @tessera/browser serves these static files, no bundler needed.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: { outDir: fileURLToPath(new URL('../dist/page', import.meta.url)), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 2048 },
  // The workers backend's Web Workers import modules (the cpu kernels): module workers.
  worker: { format: 'es' },
});
