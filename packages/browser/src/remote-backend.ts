import { graphToJson, type Feeds, type Graph } from '@tessera/core';
import type { Backend, Executable, ExecutionPlan, Outputs } from '@tessera/runtime';
import { fromBase64, toBase64 } from './base64.js';
import type { BrowserPage } from './launcher.js';

type PageApi = {
  compile(graphJson: unknown, backend: string): Promise<number>;
  run(id: number, feeds: Record<string, string>): Promise<Record<string, string>>;
  dispose(id: number): void;
};
declare const tessera: PageApi;

/**
 * A backend of the browser page, reached from Node: compile sends the graph to a headless
 * Chromium (started on first use, shared by the sessions of the container), run sends the
 * feeds and brings the outputs back. The page's own session checks kernels, so an error there
 * names op, node and backend like a local one.
 */
export class RemoteBackend implements Backend {
  private browser: Promise<BrowserPage> | null = null;

  constructor(
    readonly name: string,
    /** The backend's name inside the page. */
    private readonly pageBackend: string,
  ) {}

  hasKernel(): boolean {
    return true;
  }

  async compile(graph: Graph, plan: ExecutionPlan): Promise<Executable> {
    void plan; // the page plans for itself
    const { page } = await this.page();
    const { json } = graphToJson(graph, { weights: 'inline' });
    const id = await page.evaluate(([g, b]) => tessera.compile(g, b), [json, this.pageBackend] as const);
    let disposed = false;
    return {
      run: async (feeds: Feeds): Promise<Outputs> => {
        if (disposed) throw new Error(`${this.name} executable is disposed`);
        const encoded = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toBase64(v)]));
        const out = await page.evaluate(([i, f]) => tessera.run(i, f), [id, encoded] as const);
        return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, fromBase64(v)]));
      },
      dispose: () => {
        if (disposed) return;
        disposed = true;
        void page.evaluate((i) => tessera.dispose(i), id).catch(() => undefined);
      },
    };
  }

  async dispose(): Promise<void> {
    const browser = this.browser;
    this.browser = null;
    if (browser) await (await browser.catch(() => null))?.close();
  }

  private page(): Promise<BrowserPage> {
    if (!this.browser) {
      // Loaded on first use: vite and playwright are heavy, and most processes never need them.
      this.browser = import('./launcher.js').then((m) => m.launchPage());
      this.browser.catch(() => (this.browser = null));
    }
    return this.browser;
  }
}
