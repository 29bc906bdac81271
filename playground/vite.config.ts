import { defaultClientConditions, defineConfig } from 'vite';

/**
 * The playground page. Workspace packages resolve to their TypeScript sources (the
 * `@tessera/source` export condition); the page is cross-origin isolated (COOP / COEP) so that
 * the workers backend gets SharedArrayBuffer, as @tessera/browser's page server does.
 */
const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export default defineConfig({
  root: import.meta.dirname,
  resolve: { conditions: ['@tessera/source', ...defaultClientConditions] },
  server: { headers: ISOLATION, port: 5173 },
  preview: { headers: ISOLATION },
  worker: { format: 'es' },
  // Known up front, so that vite does not reload the page mid-run when it discovers them.
  optimizeDeps: {
    include: ['@tessera/core > zod', 'rxjs', '@tessera/runtime > inversify', '@tessera/runtime > reflect-metadata', '@tessera/conformance > fast-check', '@tessera/passes > ml-matrix', '@tessera/draw > @dagrejs/dagre'],
  },
  build: { target: 'es2022' },
});
