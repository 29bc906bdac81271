// The side of a thread that hosts onnxruntime-web for ./ort-web-proxy.ts: it sets the package's
// thread count (global to the package, fixed at its first session) and serves sessions by
// message. Plain JavaScript, so that a Node worker thread (./ort-web-thread.mjs) can load it
// without a TypeScript loader; a browser worker (../browser/ort-web-worker.ts) imports it too.
// Messages in: { seq, kind: 'create', model, options } | { seq, kind: 'run', id, feeds } |
// { seq, kind: 'release', id }; out: { seq, id? , outputs?, error? }.

/** Serves onnxruntime-web `ort` with `threads` WebAssembly threads: `post(reply, transfer)` answers, the returned function takes each message. */
export function serveOrt(ort, threads, post) {
  ort.env.wasm.numThreads = threads;
  const sessions = new Map();
  let next = 0;
  async function handle(m) {
    switch (m.kind) {
      case 'create': {
        const id = next++;
        sessions.set(id, await ort.InferenceSession.create(m.model, m.options));
        return { id };
      }
      case 'run': {
        const feeds = Object.fromEntries(Object.entries(m.feeds).map(([k, t]) => [k, new ort.Tensor('float32', t.data, t.dims)]));
        const results = await sessions.get(m.id).run(feeds);
        const outputs = Object.fromEntries(Object.entries(results).map(([k, t]) => [k, { type: t.type, data: t.data, dims: t.dims }]));
        return { outputs, transfer: Object.values(outputs).map((t) => t.data.buffer) };
      }
      case 'release':
        await sessions.get(m.id)?.release();
        sessions.delete(m.id);
        return {};
      default:
        throw new Error(`unknown message '${m.kind}'`);
    }
  }
  return async (m) => {
    try {
      const { transfer = [], ...reply } = await handle(m);
      post({ seq: m.seq, ...reply }, transfer);
    } catch (e) {
      post({ seq: m.seq, error: e instanceof Error ? e.message : String(e) }, []);
    }
  };
}
