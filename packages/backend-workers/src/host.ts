/**
 * The environment a pool runs in: Node (`worker_threads`) or a browser (module Web Workers).
 * Everything environment-specific about starting, watching and stopping a worker is here.
 */
import type { FromWorker, ToWorker } from './protocol.js';

/** One started worker, as the pool sees it. */
export interface HostWorker {
  /** Node's threadId, or a counter in browsers. */
  readonly threadId: number;
  post(msg: ToWorker): void;
  /** Messages from the worker. */
  onMessage(fn: (msg: FromWorker) => void): void;
  /** The worker is gone or broken: it exited (with a code) or threw outside a step. */
  onDeath(fn: (reason: string) => void): void;
  /** Stops the worker; resolves once it no longer runs. */
  terminate(): Promise<void>;
  /** Node: whether the worker keeps the process alive (only while the pool is busy). */
  ref(on: boolean): void;
}

export interface Host {
  readonly kind: 'node' | 'browser';
  /** Cores the environment reports. */
  defaultThreads(): number;
  /** Whether the main thread may block in Atomics.wait (Node: yes; a browser page: no). */
  readonly mainCanBlock: boolean;
  spawn(): HostWorker;
}

/** Workers started and not yet exited, in this process or page (for leak checks). */
let live = 0;

/** How many workers of every pool are alive right now; 0 after every pool is disposed. */
export function liveWorkerCount(): number {
  return live;
}

export function isNode(): boolean {
  const g = globalThis as { process?: { versions?: { node?: string } }; window?: unknown; WorkerGlobalScope?: unknown };
  return g.process?.versions?.node !== undefined && g.window === undefined && g.WorkerGlobalScope === undefined;
}

/** True when this module runs from TypeScript sources (tests, tsx) rather than from dist. */
const fromSources = import.meta.url.endsWith('.ts');

/** The module a Node worker thread starts (see nodeHost's spawn). */
const NODE_WORKER_ENTRY = fromSources ? './worker-bootstrap.mjs' : './worker.js';

export async function detectHost(): Promise<Host> {
  return isNode() ? nodeHost() : browserHost();
}

async function nodeHost(): Promise<Host> {
  const { Worker } = await import('node:worker_threads');
  const os = await import('node:os');
  return {
    kind: 'node',
    mainCanBlock: true,
    defaultThreads: () => (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length),
    spawn(): HostWorker {
      // From sources, Node 20 cannot start a .ts worker: a small .mjs registers tsx and imports
      // worker.ts, and the worker resolves workspace packages to their sources as well. The file
      // name is a variable so that bundlers, which see this Node branch too, look for neither file
      // here: the browser branch below is the one they should bundle.
      const worker = new Worker(new URL(NODE_WORKER_ENTRY, import.meta.url), fromSources ? { execArgv: ['--conditions=@tessera/source'] } : {});
      live++;
      let dead = false;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      const deathListeners: ((reason: string) => void)[] = [];
      const die = (reason: string) => {
        if (dead) return;
        dead = true;
        for (const fn of deathListeners) fn(reason);
      };
      worker.on('error', (e) => die(`threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`));
      worker.once('exit', (code) => {
        live--;
        die(`exited with code ${code}`);
      });
      return {
        threadId: worker.threadId,
        post: (msg) => worker.postMessage(msg),
        onMessage: (fn) => worker.on('message', fn),
        onDeath: (fn) => deathListeners.push(fn),
        async terminate() {
          dead = true;
          await worker.terminate();
          await exited;
        },
        ref: (on) => (on ? worker.ref() : worker.unref()),
      };
    },
  };
}

let browserIds = 0;

/**
 * Throws unless shared memory is available: in a browser that takes a cross-origin-isolated page.
 * Creating the backend calls it, so a page without the headers fails at once and says why.
 */
export function checkSharedMemory(): void {
  const g = globalThis as { crossOriginIsolated?: boolean };
  if (typeof SharedArrayBuffer !== 'undefined' && (isNode() || g.crossOriginIsolated !== false)) return;
  throw new Error(
    "backend 'workers' needs SharedArrayBuffer, which a browser only gives a cross-origin-isolated page: " +
      "serve the page with the headers 'Cross-Origin-Opener-Policy: same-origin' and " +
      "'Cross-Origin-Embedder-Policy: require-corp' (or 'credentialless'); this page is not isolated " +
      `(crossOriginIsolated = ${String(g.crossOriginIsolated)}, SharedArrayBuffer ${typeof SharedArrayBuffer === 'undefined' ? 'missing' : 'present'})`,
  );
}

async function browserHost(): Promise<Host> {
  checkSharedMemory();
  const g = globalThis as { navigator?: { hardwareConcurrency?: number } };
  return {
    kind: 'browser',
    mainCanBlock: false,
    defaultThreads: () => Math.max(1, g.navigator?.hardwareConcurrency ?? 1),
    spawn(): HostWorker {
      // Bundlers (vite, webpack; esbuild with a plugin) recognize this literal pattern and emit the
      // worker; from sources, vite serves worker.ts for './worker.js' as for any import.
      const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
      live++;
      const threadId = ++browserIds;
      let dead = false;
      let terminated = false;
      const deathListeners: ((reason: string) => void)[] = [];
      const die = (reason: string) => {
        if (dead) return;
        dead = true;
        for (const fn of deathListeners) fn(reason);
      };
      worker.addEventListener('error', (e) => {
        e.preventDefault();
        die(`threw ${e.message || 'an error'}`);
      });
      worker.addEventListener('messageerror', () => die('could not read a message'));
      return {
        threadId,
        post: (msg) => worker.postMessage(msg),
        onMessage: (fn) => worker.addEventListener('message', (e) => fn(e.data as FromWorker)),
        onDeath: (fn) => deathListeners.push(fn),
        async terminate() {
          dead = true;
          if (terminated) return;
          terminated = true;
          worker.terminate();
          live--;
        },
        ref: () => undefined,
      };
    },
  };
}
