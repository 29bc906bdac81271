import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';
import { chunkMiddleware, ISOLATION, type PageServer, type ServedChunks } from './page-server.js';

/** The page as `vite build` writes it when the package is built (see page/vite.config.ts). */
const PAGE_DIR = fileURLToPath(new URL('./page', import.meta.url));

/** Serves the built page (dist/page) and the served chunks: no bundler at run time. */
export async function startStaticServer(served: ServedChunks): Promise<PageServer> {
  if (!existsSync(`${PAGE_DIR}/index.html`)) throw new Error(`@tessera/browser: its page is missing (${PAGE_DIR}/index.html): the package was built without 'vite build' of page/ (its build script does both)`);
  const files = sirv(PAGE_DIR, { dev: false, etag: false, setHeaders: (res) => Object.entries(ISOLATION).forEach(([k, v]) => res.setHeader(k, v)) });
  const chunks = chunkMiddleware(served);
  const server = createServer((req, res) =>
    chunks(req, res, () =>
      files(req, res, () => {
        res.writeHead(404, ISOLATION);
        res.end();
      }),
    ),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
