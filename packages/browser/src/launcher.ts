import { chromium, type Browser, type Page } from 'playwright';
import { CHROMIUM_ARGS, chromiumHint, findChromium } from './chromium.mjs';
import type { ServeChunks } from './graph-upload.js';
import { startPageServer, type PageServer } from './page-server.js';

/** A headless Chromium with Tessera's page loaded, served cross-origin isolated on 127.0.0.1. */
export interface BrowserPage {
  readonly page: Page;
  readonly url: string;
  /** Serves bytes to the page from its own server (without it, the page's requests are intercepted: slower). */
  readonly serve?: ServeChunks;
  close(): Promise<void>;
}

/**
 * Starts the page server (page-server.ts) and the system Chromium, and waits until the page is
 * ready. Everything is closed again if a step fails.
 */
export async function launchPage({ timeoutMs = 120_000 } = {}): Promise<BrowserPage> {
  const executablePath: string | null = findChromium();
  if (!executablePath) throw new Error(chromiumHint());
  const served = new Map<string, readonly Uint8Array[]>();
  let server: PageServer | undefined;
  let browser: Browser | undefined;
  try {
    server = await startPageServer(served);
    const url = server.url;
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
