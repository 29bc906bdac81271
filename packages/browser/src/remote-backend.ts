import { TesseraError, type Feeds, type Graph, type Node } from '@tessera/core';
import type { Backend, Executable, ExecutionPlan, NodeObserver, Outputs, PlanOptions } from '@tessera/runtime';
import { fromBase64, toBase64 } from './base64.js';
import { withGraphSource } from './graph-upload.js';
import type { BrowserPage } from './launcher.js';
import { PageLink } from './page-link.js';
import { planFromData, planToData, type PageApi, type PageCompiled, type PageHeld, type PageRun } from './page-api.js';

declare const tessera: PageApi;

export interface RemoteBackendOptions {
  /** Starts the page (default: `launchPage()`, a headless Chromium with Tessera's page). */
  readonly launch?: () => Promise<BrowserPage>;
  /**
   * How long the page keeps a graph planned by `plan` for the `compile` that should follow
   * (createSession compiles at once). Past it the page drops the graph, and a late compile sends
   * it again. Default 60 000 ms.
   */
  readonly planTimeoutMs?: number;
}

/** The page, and the ops its backend has kernels for (asked once, when the page starts). */
interface Started {
  readonly link: PageLink;
  readonly kernels: ReadonlySet<string>;
}

/**
 * A backend of the browser page, reached from Node: the page's backend plans the graph (the
 * session's plan and stats are the page's), compile sends the graph to a headless Chromium
 * (started on first use, shared by the sessions of the container), run sends the feeds and
 * brings the outputs back. A graph crosses once (see graph-upload.ts): `plan` leaves it on the
 * page for the `compile` that follows.
 */
export class RemoteBackend implements Backend {
  private started: Promise<Started> | null = null;
  private kernels: ReadonlySet<string> | null = null;
  /** Plans made by the page whose graph the page still holds: the id it gave, and the timer that releases it. */
  private readonly onPage = new Map<ExecutionPlan, { readonly id: number; readonly timer: ReturnType<typeof setTimeout> }>();

  constructor(
    readonly name: string,
    /** The backend's name inside the page. */
    private readonly pageBackend: string,
    private readonly options: RemoteBackendOptions = {},
  ) {}

  /**
   * Whether the page's backend has the op. Before the page has started this cannot be known
   * and answers true: `plan`, which createSession awaits before compiling, starts the page and
   * refuses an op the page lacks with the same error.
   */
  hasKernel(op: string): boolean {
    return this.kernels?.has(op) ?? true;
  }

  async plan(graph: Graph, options: PlanOptions): Promise<ExecutionPlan> {
    const link = await this.ready(graph);
    const made = await withGraphSource(link.serve, graph, (source) =>
      link.call(`planning graph '${graph.name}'`, ([g, b, o]) => tessera.plan(g, b, o), [source, this.pageBackend, options] as const),
    );
    const plan = planFromData(graph, made.plan);
    // Released if no compile takes it in time: a plan that is never compiled must not keep its graph on the page.
    const timer = setTimeout(() => {
      this.onPage.delete(plan);
      disposeOnPage(link, made.id);
    }, this.options.planTimeoutMs ?? 60_000);
    (timer as { unref?: () => void }).unref?.();
    this.onPage.set(plan, { id: made.id, timer });
    return plan;
  }

  /** Compiles with `plan`: the page's own (see `plan`), or any other, sent along with the graph. */
  async compile(graph: Graph, plan: ExecutionPlan): Promise<Executable> {
    const link = await this.ready(graph);
    const held = this.onPage.get(plan);
    if (held) clearTimeout(held.timer);
    this.onPage.delete(plan); // the page gives its copy to the first compile
    const planned = plan.graph === graph ? held?.id : undefined;
    if (held && planned === undefined) disposeOnPage(link, held.id);
    const what = `compiling graph '${graph.name}'`;
    const compile = (source: Parameters<PageApi['compile']>[0]) => link.call(what, ([s, b]) => tessera.compile(s, b), [source, this.pageBackend] as const);
    const compiled = planned !== undefined ? await compile(planned) : await withGraphSource(link.serve, graph, (source) => compile({ graph: source, plan: planToData(plan) }));
    return new RemoteExecutable(link, compiled, graph);
  }

  /** What the page holds (graphs planned, graphs compiled): none once every session is disposed. */
  async held(): Promise<PageHeld> {
    const { link } = await this.start();
    return link.call('asking what the page holds', () => tessera.held(), undefined);
  }

  async dispose(): Promise<void> {
    this.forget();
    const started = this.started;
    this.started = null;
    if (started) await (await started.catch(() => null))?.link.close();
  }

  /** Drops the page's state kept here (its plans' timers), the page being closed or gone. */
  private forget(): void {
    for (const { timer } of this.onPage.values()) clearTimeout(timer);
    this.onPage.clear();
  }

  /** The started page, after checking that its backend has a kernel for every op of `graph`. */
  private async ready(graph: Graph): Promise<PageLink> {
    const { link, kernels } = await this.start();
    for (const node of graph.nodes) {
      if (!kernels.has(node.op)) throw new TesseraError(`backend '${this.name}' has no kernel for op '${node.op}'`, { node: node.name, op: node.op });
    }
    return link;
  }

  private start(): Promise<Started> {
    if (!this.started) {
      const started = this.launch().then(async (browser) => {
        const link: PageLink = new PageLink(this.name, browser, () => {
          if (this.started === started) this.started = null;
          this.forget();
        });
        const ops = await link.call('starting', (b) => tessera.kernels(b), this.pageBackend).catch(async (e: unknown) => {
          await link.close().catch(() => undefined); // a page that cannot answer must not keep its browser
          throw e;
        });
        this.kernels = new Set(ops);
        return { link, kernels: this.kernels };
      });
      this.started = started;
      started.catch(() => {
        if (this.started === started) this.started = null;
      });
    }
    return this.started;
  }

  private launch(): Promise<BrowserPage> {
    // Loaded on first use: vite and playwright are heavy, and most processes never need them.
    return this.options.launch?.() ?? import('./launcher.js').then((m) => m.launchPage());
  }
}

/** Frees a graph held by the page; nothing to do if the page is gone. */
function disposeOnPage(link: PageLink, id: number): void {
  void link.call('disposing', (i) => tessera.dispose(i), id).catch(() => undefined);
}

/** A graph compiled in the page, by id; it reports what the page's executable reports (algorithms above all: conformance widens those nodes' bounds). */
class RemoteExecutable implements Executable {
  private disposed = false;
  private readonly id: number;
  readonly gemmPath?: string;
  readonly gemmReason?: string | null;
  readonly algorithms: ReadonlyMap<string, string>;
  readonly epilogues: ReadonlyMap<string, string>;

  /** The graph's nodes by name: what the page's node times are told about. */
  private readonly nodes: ReadonlyMap<string, Node>;

  constructor(
    private readonly link: PageLink,
    compiled: PageCompiled,
    graph: Graph,
  ) {
    this.nodes = new Map(graph.nodes.map((n) => [n.name, n]));
    this.id = compiled.id;
    this.gemmPath = compiled.gemmPath;
    this.gemmReason = compiled.gemmReason;
    this.algorithms = new Map(compiled.algorithms);
    this.epilogues = new Map(compiled.epilogues);
  }

  async run(feeds: Feeds, observer?: NodeObserver): Promise<Outputs> {
    if (this.disposed) throw new Error(`${this.link.backend} executable is disposed`);
    const encoded = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toBase64(v)]));
    const done = await this.link.call('running', ([i, f, o]) => tessera.run(i, f, o), [this.id, encoded, observer !== undefined] as const);
    if (observer && done.nodes) this.tell(observer, done.nodes, performance.now() - done.ms);
    return Object.fromEntries(Object.entries(done.outputs).map(([k, v]) => [k, fromBase64(v)]));
  }

  /** The page's node times, told as times of this thread: the run is taken to have begun at `begin`, its length before now. */
  private tell(observer: NodeObserver, nodes: NonNullable<PageRun['nodes']>, begin: number): void {
    for (const [name, start, end] of nodes) {
      const node = this.nodes.get(name);
      if (!node) continue;
      observer.nodeStart(node, begin + start);
      observer.nodeEnd(node, begin + end);
    }
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeOnPage(this.link, this.id);
  }
}
