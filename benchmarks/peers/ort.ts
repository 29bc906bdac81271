import { OrtBackend, loadOrt } from '@tessera/backend-ort';
import { defaultContainer, registerBackend } from '@tessera/runtime';
import { Worker } from 'node:worker_threads';
import { ortWebName, proxyRuntime } from './ort-web-proxy.js';

/**
 * ONNX Runtime as benchmark peers, on the graph Tessera exports (`@tessera/backend-ort`): native
 * (onnxruntime-node, its default threads: the native ceiling) and WebAssembly (onnxruntime-web)
 * with 1 and 2 threads, each in a worker thread of its own with a pool of that size
 * (./ort-web-proxy.ts says why). ONNX Runtime applies its own graph optimizations (fusion,
 * batch-norm folding) at session creation. Relu is exported plain (ONNX Runtime's, keeping -0),
 * as a converted model has it.
 */
export const ORT_PEERS = ['ort-node', ortWebName(1), ortWebName(2)];

/** onnxruntime-web with `threads` threads in a worker thread of its own (started on first use; it does not keep the process alive). */
function webThread(threads: number) {
  let runtime: ReturnType<typeof proxyRuntime> | undefined;
  return async () => {
    if (!runtime) {
      const worker = new Worker(new URL('./ort-web-thread.mjs', import.meta.url), { workerData: { threads } });
      worker.unref();
      runtime = proxyRuntime({ postMessage: (m) => worker.postMessage(m), listen: (f) => worker.on('message', f) });
    }
    return runtime;
  };
}

export function registerOrtPeers(): void {
  registerBackend(defaultContainer, 'ort-node', () => new OrtBackend('ort-node', loadOrt('onnxruntime-node'), { exactEdgeCases: false }));
  for (const threads of [1, 2]) {
    const name = ortWebName(threads);
    const runtime = webThread(threads);
    registerBackend(defaultContainer, name, () => new OrtBackend(name, runtime, { threads, exactEdgeCases: false }));
  }
}
