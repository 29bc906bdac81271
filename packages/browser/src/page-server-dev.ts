import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { chunkMiddleware, ISOLATION, type PageServer, type ServedChunks } from './page-server.js';

/**
 * The repository's page server (tests from sources): vite's dev server over page/, packages
 * resolved to their sources. vite is a devDependency: only this file imports it.
 */
export async function startDevServer(served: ServedChunks): Promise<PageServer> {
  const { createServer, defaultClientConditions } = await import('vite');
  const server = await createServer({
    root: fileURLToPath(new URL('../page', import.meta.url)),
    configFile: false,
    logLevel: 'error',
    plugins: [servedChunksPlugin(served)],
    resolve: { conditions: ['@tessera/source', ...defaultClientConditions] },
    // No HMR and no late dependency discovery: either would reload the page and lose its sessions.
    server: { host: '127.0.0.1', port: 0, headers: ISOLATION, hmr: false, watch: null, fs: { allow: [fileURLToPath(new URL('../../..', import.meta.url))] } },
    optimizeDeps: { entries: [fileURLToPath(new URL('../page/main.ts', import.meta.url))], include: ['zod', 'rxjs', 'inversify', 'reflect-metadata'] },
  });
  try {
    await server.listen();
    const url = server.resolvedUrls?.local[0];
    if (!url) throw new Error('the page server did not report its address');
    return { url, close: () => server.close() };
  } catch (e) {
    await server.close();
    throw e;
  }
}

/** Serves the chunks ahead of vite's own middlewares. */
function servedChunksPlugin(served: ServedChunks): Plugin {
  return {
    name: 'tessera-served-chunks',
    configureServer(server) {
      server.middlewares.use(chunkMiddleware(served));
    },
  };
}
