import { defaultContainer, registerBackend } from '@tessera/runtime';
import type { Container } from 'inversify';
import { RemoteBackend } from './remote-backend.js';

export { RemoteBackend, type RemoteBackendOptions } from './remote-backend.js';
export type { PageApi, PlanData } from './page-api.js';
export type { BrowserPage } from './launcher.js';

/**
 * Registers, for Node, the backends that live in a browser: `webgl`, and `browser-cpu` /
 * `browser-workers` (the cpu and workers backends inside Chromium). Each runs in a headless
 * Chromium started on first use.
 */
export function registerBrowserBackends(container: Container = defaultContainer): void {
  registerBackend(container, 'webgl', () => new RemoteBackend('webgl', 'webgl'), 'WebGL2 in headless Chromium');
  registerBackend(container, 'browser-cpu', () => new RemoteBackend('browser-cpu', 'cpu'), 'the cpu backend in headless Chromium');
  registerBackend(container, 'browser-workers', () => new RemoteBackend('browser-workers', 'workers'), 'the workers backend (Web Workers) in headless Chromium');
}
