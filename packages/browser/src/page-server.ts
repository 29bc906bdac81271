import type { IncomingMessage, ServerResponse } from 'node:http';
import { chunkAt } from './graph-upload.js';

/** The server of Tessera's page, on 127.0.0.1, cross-origin isolated (SharedArrayBuffer needs it). */
export interface PageServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Chunks of graph weights by path prefix, served to the page (BrowserPage.serve). */
export type ServedChunks = ReadonlyMap<string, readonly Uint8Array[]>;

export const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/** A connect-style middleware answering requests for served chunks and passing every other request on. */
export function chunkMiddleware(served: ServedChunks) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    const path = req.url ?? '';
    const prefix = path.slice(0, path.lastIndexOf('/') + 1);
    const chunks = served.get(prefix);
    if (!chunks) return next();
    const body = chunkAt(chunks, path.slice(prefix.length));
    res.writeHead(body ? 200 : 404, { 'Content-Type': 'application/octet-stream', ...ISOLATION });
    res.end(body);
  };
}

/** True when this module runs from TypeScript sources (the repository's tests) rather than from dist. */
const fromSources = import.meta.url.endsWith('.ts');

/**
 * Starts the page's server: from dist, the page built with the package (dist/page, static files);
 * from sources, vite's dev server over page/ (only the repository has it, and vite is a
 * devDependency). Each is imported only when used.
 */
export async function startPageServer(served: ServedChunks): Promise<PageServer> {
  return fromSources ? (await import('./page-server-dev.js')).startDevServer(served) : (await import('./page-server-static.js')).startStaticServer(served);
}
