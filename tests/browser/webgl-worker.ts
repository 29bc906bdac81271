/// <reference lib="webworker" />
// Runs the seed CNN on the webgl backend inside a Web Worker (OffscreenCanvas context) for
// webgl-worker.browser.test.ts: receives feeds, replies with outputs and the live GL counts.
import { WebGLBackend } from '@tessera/backend-webgl';
import { seedCnn } from '@tessera/examples';
import { createContainer, createSession, getBackend, registerBackend } from '@tessera/runtime';

self.onmessage = async (e: MessageEvent<{ x: Float32Array }>) => {
  try {
    const c = createContainer();
    registerBackend(c, 'webgl', () => new WebGLBackend());
    const backend = getBackend(c, 'webgl') as WebGLBackend;
    const session = await createSession(seedCnn(), { backend: 'webgl', container: c });
    const out = await session.run({ x: e.data.x });
    const during = backend.liveCounts();
    session.dispose();
    self.postMessage({
      ok: true,
      logits: out.logits,
      hasDocument: typeof document !== 'undefined',
      renderer: backend.device.renderer,
      during,
      after: backend.liveCounts(),
    });
  } catch (err) {
    self.postMessage({ ok: false, error: String(err instanceof Error ? err.stack : err) });
  }
};
