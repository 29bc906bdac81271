import type { OrtRuntime } from '@tessera/backend-ort';

/**
 * An OrtRuntime whose sessions live in another thread that hosts onnxruntime-web
 * (./ort-web-host.mjs: a Node worker thread or a browser worker). onnxruntime-web sizes its
 * thread pool once per instance of the package, and a session's `intraOpNumThreads: 1` does not
 * keep it off the pool's other threads (measured in Node: a 1-thread session on a 2-thread pool
 * used ~1.9 cores), so each thread count gets an instance of its own. A call pays a message
 * round trip (tens of microseconds) and a copy of its input.
 */
/** The peer's name in tables: 'ort-web 1 thread', 'ort-web 2 threads'. */
export const ortWebName = (threads: number): string => `ort-web ${threads} thread${threads > 1 ? 's' : ''}`;

export interface Port {
  postMessage(message: unknown): void;
  /** Calls `listener` with each message's data. */
  listen(listener: (data: unknown) => void): void;
}

interface Reply {
  seq: number;
  error?: string;
  id?: number;
  outputs?: Record<string, { type: string; data: Float32Array; dims: readonly number[] }>;
}

class Tensor {
  constructor(readonly type: 'float32', readonly data: Float32Array, readonly dims: readonly number[]) {}
  dispose(): void {}
}

export function proxyRuntime(port: Port): OrtRuntime {
  const pending = new Map<number, (r: Reply) => void>();
  let seq = 0;
  port.listen((data) => {
    const r = data as Reply;
    pending.get(r.seq)?.(r);
    pending.delete(r.seq);
  });
  const call = (message: Record<string, unknown>) =>
    new Promise<Reply>((resolve, reject) => {
      const s = seq++;
      pending.set(s, (r) => (r.error ? reject(new Error(`onnxruntime-web (other thread): ${r.error}`)) : resolve(r)));
      port.postMessage({ ...message, seq: s });
    });
  const create = async (model: Uint8Array, options?: unknown) => {
    const { id } = await call({ kind: 'create', model, options });
    return {
      async run(feeds: Record<string, Tensor>) {
        const plain = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, { data: t.data, dims: t.dims }]));
        const { outputs } = await call({ kind: 'run', id, feeds: plain });
        return Object.fromEntries(Object.entries(outputs!).map(([k, t]) => [k, new Tensor('float32', t.data, t.dims)]));
      },
      release: () => call({ kind: 'release', id }),
    };
  };
  return { InferenceSession: { create }, Tensor } as unknown as OrtRuntime;
}
