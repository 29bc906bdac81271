import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright';
import { createServer, defaultClientConditions, type Plugin, type ViteDevServer } from 'vite';
import { CHROMIUM_ARGS, chromiumHint, findChromium } from './chromium.mjs';
import { chunkAt, type ServeChunks } from './graph-upload.js';

/** A headless Chromium with Tessera's page loaded, served cross-origin isolated on 127.0.0.1. */
export interface BrowserPage {
  readonly page: Page;
  readonly url: string;
  /** Serves bytes to the page from its own server (without it, the page's requests are intercepted: slower). */
  readonly serve?: ServeChunks;
  close(): Promise<void>;
}

const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

/**
 * Starts the page server (vite, as the browser tests use) and the system Chromium, and waits
 * until the page is ready. Everything is closed again if a step fails.
 */
export async function launchPage({ timeoutMs = 120_000 } = {}): Promise<BrowserPage> {
  const executablePath: string | null = findChromium();
  if (!executablePath) throw new Error(chromiumHint());
  const served = new Map<string, readonly Uint8Array[]>();
  let server: ViteDevServer | undefined;
  let browser: Browser | undefined;
  try {
    server = await createServer({
      root: fileURLToPath(new URL('../page', import.meta.url)),
      configFile: false,
      logLevel: 'error',
      plugins: [servedChunks(served)],
      resolve: { conditions: ['@tessera/source', ...defaultClientConditions] },
      // No HMR and no late dependency discovery: either would reload the page and lose its sessions.
      server: { host: '127.0.0.1', port: 0, headers: ISOLATION, hmr: false, watch: null, fs: { allow: [fileURLToPath(new URL('../../..', import.meta.url))] } },
      optimizeDeps: { entries: [fileURLToPath(new URL('../page/main.ts', import.meta.url))], include: ['zod', 'rxjs', 'inversify', 'reflect-metadata'] },
    });
    await server.listen();
    const url = server.resolvedUrls?.local[0];
    if (!url) throw new Error('the page server did not report its address');
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true });
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: timeoutMs }).catch(() => {
      throw new Error(`Tessera's page did not start in ${timeoutMs} ms${pageErrors.length ? `: ${pageErrors.join('; ')}` : ''}`);
    });
    const [b, s] = [browser, server];
    return {
      page,
      url,
      async serve(path, chunks) {
        served.set(path, chunks);
        return async () => void served.delete(path);
      },
      async close() {
        await b.close();
        await s.close();
      },
    };
  } catch (e) {
    await browser?.close();
    await server?.close();
    throw e;
  }
}

/** Serves the chunks registered by path prefix (BrowserPage.serve), ahead of vite's own middlewares. */
function servedChunks(served: ReadonlyMap<string, readonly Uint8Array[]>): Plugin {
  return {
    name: 'tessera-served-chunks',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = req.url ?? '';
        const prefix = path.slice(0, path.lastIndexOf('/') + 1);
        const chunks = served.get(prefix);
        if (!chunks) return next();
        const body = chunkAt(chunks, path.slice(prefix.length));
        res.writeHead(body ? 200 : 404, { 'Content-Type': 'application/octet-stream', ...ISOLATION });
        res.end(body);
      });
    },
  };
}
