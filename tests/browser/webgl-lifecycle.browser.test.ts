import { ContextLostError, WebGLBackend, WebGLUnavailableError, type WebGLExecutable } from '@tessera/backend-webgl';
import { GraphBuilder, evaluate, type Graph } from '@tessera/core';
import { seedCnn } from '@tessera/examples';
import { createContainer, createSession, getBackend, planExecution, registerBackend, type ExecEvent } from '@tessera/runtime';
import { describe, expect, it } from 'vitest';
import { mismatches, randomFeeds, tensor } from './helpers.js';

/** A container with its own webgl backend (own canvas and context), so a test can lose it safely. */
function isolated(options: ConstructorParameters<typeof WebGLBackend>[0] = {}) {
  const container = createContainer();
  registerBackend(container, 'webgl', () => new WebGLBackend(options));
  return { container, backend: () => getBackend(container, 'webgl') as WebGLBackend };
}

/** A WebGL2 context whose EXT_color_buffer_float is missing, as on devices without float32 render targets. */
function contextWithoutFloat(): WebGL2RenderingContext {
  const gl = document.createElement('canvas').getContext('webgl2')!;
  return new Proxy(gl, {
    get(target, prop) {
      if (prop === 'getExtension') return (name: string) => (name === 'EXT_color_buffer_float' ? null : target.getExtension(name));
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

describe('webgl backend lifecycle', () => {
  it('refuses to start without float32 render targets, with a clear error (no float16 fallback)', async () => {
    expect(() => new WebGLBackend({ gl: contextWithoutFloat() })).toThrow(WebGLUnavailableError);
    expect(() => new WebGLBackend({ gl: contextWithoutFloat() })).toThrow(/EXT_color_buffer_float.*float16/s);
    const { container } = isolated({ gl: contextWithoutFloat() });
    await expect(createSession(seedCnn(), { backend: 'webgl', container })).rejects.toThrow(/float32 render targets/);
  });

  it('handles tensors wider than MAX_TEXTURE_SIZE (wrapped over texture rows)', async () => {
    const { container, backend } = isolated();
    const max = backend().device.maxTextureSize;
    const k = 4 * max + 123; // one row of a: k / 4 texels, more than a texture row holds
    const g = new GraphBuilder('wide');
    const a = g.input('a', [2, k]);
    const w = g.constant('w', tensor([k, 3], 9, 1 / Math.sqrt(k)));
    const r = g.relu(a);
    const graph = g.build({ y: g.matmul(r, w), r, s: g.op('slice', [r], { begin: [1, k - 9], size: [1, 5], strides: [1, 2] }) });
    expect(graph.inputs[0].shape[1] / 4).toBeGreaterThan(max);
    const feeds = randomFeeds(graph, 4);
    const session = await createSession(graph, { backend: 'webgl', container });
    const out = await session.run(feeds);
    const ref = evaluate(graph, feeds);
    for (const name of ['y', 'r', 's']) expect(mismatches(out[name], ref[name]), name).toEqual([]);
    session.dispose();
  });

  it('handles tensors taller than MAX_TEXTURE_SIZE rows (rows folded into texture rows)', async () => {
    const { container, backend } = isolated();
    const max = backend().device.maxTextureSize;
    const g = new GraphBuilder('tall');
    const x = g.input('x', [max + 77, 6]);
    const graph = g.build({ y: g.biasAdd(g.relu(x), g.constant('b', tensor([6], 2))) });
    const feeds = randomFeeds(graph, 1);
    const session = await createSession(graph, { backend: 'webgl', container });
    const out = await session.run(feeds);
    expect(mismatches(out.y, evaluate(graph, feeds).y)).toEqual([]);
    session.dispose();
  });

  it('dispose() deletes every texture, framebuffer and program', async () => {
    const { container, backend } = isolated();
    const b = backend();
    expect(b.liveCounts()).toEqual({ textures: 0, framebuffers: 0, programs: 0, shaders: 0 });
    const s1 = await createSession(seedCnn({ batch: 2 }), { backend: 'webgl', container });
    const s2 = await createSession(seedCnn({ batch: 2 }), { backend: 'webgl', container });
    await s1.run(randomFeeds(s1.graph, 1));
    const live = b.liveCounts();
    expect(live.textures).toBeGreaterThan(0);
    expect(live.framebuffers).toBeGreaterThanOrEqual(live.textures); // + multiple-render-target framebuffers
    expect(live.programs).toBeGreaterThan(0);
    s1.dispose();
    // s2 still holds its textures and the shared programs.
    expect(b.liveCounts().programs).toBe(live.programs);
    expect(b.liveCounts().textures).toBe(live.textures / 2);
    expect(b.liveCounts().framebuffers).toBe(live.framebuffers / 2);
    await s2.run(randomFeeds(s2.graph, 2));
    s2.dispose();
    expect(b.liveCounts()).toEqual({ textures: 0, framebuffers: 0, programs: 0, shaders: 0 });
    await b.dispose();
    expect(b.liveCounts()).toEqual({ textures: 0, framebuffers: 0, programs: 0, shaders: 0 });
  });

  it("reuses the texture of a dead value and holds only the live ones after compile (a view shares its input's)", async () => {
    const { backend } = isolated();
    const b = backend();
    const g = new GraphBuilder('chain');
    const a = g.relu(g.input('x', [2, 3, 8]));
    const graph = g.build({ y: g.relu(g.relu(g.reshape(a, [6, 8]))) });
    const exe = (await b.compile(graph, planExecution(graph))) as WebGLExecutable;
    // One texture size throughout: x, a (and its view) and the relus alternate over two textures.
    expect(exe.textureCounts()).toEqual({ textures: 2, free: 1 });
    const feeds = randomFeeds(graph, 3);
    expect(mismatches((await exe.run(feeds)).y, evaluate(graph, feeds).y)).toEqual([]);
    exe.dispose();
    expect(exe.textureCounts()).toEqual({ textures: 0, free: 0 });
    expect(b.liveCounts()).toEqual({ textures: 0, framebuffers: 0, programs: 0, shaders: 0 });
    await b.dispose();
  });

  it('reports per-node events with durations to the session observer', async () => {
    const { container } = isolated();
    const graph = seedCnn();
    const session = await createSession(graph, { backend: 'webgl', container });
    const events: ExecEvent[] = [];
    const sub = session.events$.subscribe((e) => events.push(e));
    await session.run(randomFeeds(graph, 1));
    sub.unsubscribe();
    const ends = events.filter((e) => e.type === 'node-end');
    expect(ends.map((e) => (e as { node: string }).node)).toEqual(graph.nodes.map((n) => n.name));
    expect(ends.every((e) => e.type === 'node-end' && e.backend === 'webgl' && e.duration >= 0)).toBe(true);
    session.dispose();
  });

  it('context loss fails the run with a clear error; after restore the graph compiles and runs again', async () => {
    const { container, backend } = isolated();
    const b = backend();
    const graph: Graph = seedCnn();
    const feeds = randomFeeds(graph, 3);
    const session = await createSession(graph, { backend: 'webgl', container });
    await session.run(feeds);
    const ext = b.device.gl.getExtension('WEBGL_lose_context')!;
    expect(ext).not.toBeNull();
    ext.loseContext();
    await expect(session.run(feeds)).rejects.toThrow(ContextLostError);
    await expect(session.run(feeds)).rejects.toThrow(/context lost.*compile the graph again/s);
    await expect(createSession(graph, { backend: 'webgl', container })).rejects.toThrow(/context lost/);
    session.dispose();

    const generation = b.device.generation;
    // The lost event is delivered in a task of its own; the device cancels it so a restore can follow.
    await new Promise((r) => setTimeout(r, 50));
    ext.restoreContext();
    for (let i = 0; i < 250 && b.device.isLost; i++) await new Promise((r) => setTimeout(r, 20));
    expect(b.device.isLost).toBe(false);
    expect(b.device.generation).toBe(generation + 1);
    const again = await createSession(graph, { backend: 'webgl', container });
    const out = await again.run(feeds);
    expect(mismatches(out.logits, evaluate(graph, feeds).logits)).toEqual([]);
    again.dispose();
    expect(b.liveCounts()).toEqual({ textures: 0, framebuffers: 0, programs: 0, shaders: 0 });
  });
});
