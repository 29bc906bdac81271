import { evaluate } from '@tessera/core';
import { seedCnn } from '@tessera/examples';
import { expect, it } from 'vitest';
import { mismatches, randomFeeds } from './helpers.js';

it('runs in a Web Worker on an OffscreenCanvas context, and frees everything there', async () => {
  const graph = seedCnn();
  const feeds = randomFeeds(graph, 11);
  const worker = new Worker(new URL('./webgl-worker.ts', import.meta.url), { type: 'module' });
  try {
    const reply = await new Promise<Record<string, unknown>>((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(`worker error: ${e.message}`));
      worker.postMessage({ x: feeds.x });
    });
    expect(reply.error).toBeUndefined();
    expect(reply.hasDocument).toBe(false);
    expect(mismatches(reply.logits as Float32Array, evaluate(graph, feeds).logits)).toEqual([]);
    expect((reply.during as { textures: number }).textures).toBeGreaterThan(0);
    expect(reply.after).toEqual({ textures: 0, framebuffers: 0, programs: 0, shaders: 0 });
  } finally {
    worker.terminate();
  }
});
