import { routeChunks, type ServeChunks } from './graph-upload.js';
import type { BrowserPage } from './launcher.js';

/** Playwright's words for a page or browser that is gone. */
const GONE = /Target crashed|Target closed|Target page, context or browser has been closed|Browser has been closed|browser has disconnected/i;

/**
 * The calls of one backend to its page. When the page crashes or closes, or the browser goes,
 * every pending and later call rejects with an error naming the backend and what happened, the
 * browser (and its page server) is closed so that nothing keeps Node alive, and `onLost` lets the
 * backend forget it (its next session starts a new one).
 */
export class PageLink {
  private lost: string | null = null;
  private readonly lostSignal: Promise<never>;
  private signalLost: (reason: string) => void = () => {};

  constructor(
    readonly backend: string,
    readonly browser: BrowserPage,
    private readonly onLost: () => void,
  ) {
    this.lostSignal = new Promise<never>((_, reject) => (this.signalLost = (reason) => reject(new Error(reason))));
    this.lostSignal.catch(() => undefined); // observed by the calls racing it, if any
    const { page } = browser;
    // Optional: pages that stand in for Playwright's in tests may have no events.
    page.on?.('crash', () => this.lose('the browser page crashed'));
    page.on?.('close', () => this.lose('the browser page closed'));
    page.context?.().browser?.()?.on('disconnected', () => this.lose('the browser exited'));
  }

  get page(): BrowserPage['page'] {
    return this.browser.page;
  }

  /** How bytes reach the page: its server's, or its requests intercepted. */
  get serve(): ServeChunks {
    return this.browser.serve ?? routeChunks(this.page);
  }

  /** `page.evaluate(fn, arg)`, rejecting at once if the page is or goes away; `what` names the call in that error. */
  async call<A, R>(what: string, fn: (arg: A) => R | Promise<R>, arg: A): Promise<R> {
    if (this.lost) throw this.lostError(what, this.lost);
    try {
      return await Promise.race([this.page.evaluate(fn as never, arg) as Promise<R>, this.lostSignal]);
    } catch (e) {
      const message = (e as Error).message ?? String(e);
      if (!this.lost && !GONE.test(message)) throw e;
      this.lose(`the browser page is gone (${message.split('\n')[0]})`);
      throw this.lostError(what, this.lost!);
    }
  }

  /** Closes the browser (the backend is disposed); pending calls reject. */
  async close(): Promise<void> {
    if (this.lost) return;
    this.lost = 'the backend was disposed';
    this.signalLost(this.lost);
    await this.browser.close();
  }

  private lose(reason: string): void {
    if (this.lost) return;
    this.lost = reason;
    this.signalLost(reason);
    this.onLost();
    void this.browser.close().catch(() => undefined); // a crashed page's browser (or server) would keep Node alive
  }

  private lostError(what: string, reason: string): Error {
    return new Error(`backend '${this.backend}': ${reason}, while ${what}; a new session starts a new browser`);
  }
}
