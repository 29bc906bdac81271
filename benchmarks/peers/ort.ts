import { OrtBackend, loadOrt, type OrtRuntime } from '@tessera/backend-ort';
import { defaultContainer, registerBackend } from '@tessera/runtime';

/**
 * ONNX Runtime as benchmark peers, on the graph Tessera exports (`@tessera/backend-ort`): native
 * (onnxruntime-node, its default threads: the native ceiling) and WebAssembly (onnxruntime-web in
 * this process) with 1 and 2 intra-op threads. onnxruntime-web sizes its thread pool once per
 * process, so the pool gets 2 threads and each session takes 1 or 2 of them. ONNX Runtime applies
 * its own graph optimizations (fusion, batch-norm folding) at session creation. Relu is exported
 * plain (ONNX Runtime's, keeping -0), as a converted model has it.
 */
export const ORT_PEERS = ['ort-node', 'ort-web 1 thread', 'ort-web 2 threads'] as const;

export function registerOrtPeers(): void {
  const web = async (): Promise<OrtRuntime> => {
    const ort = (await loadOrt('onnxruntime-web')()) as OrtRuntime & { env: { wasm: { numThreads: number } } };
    ort.env.wasm.numThreads = 2;
    return ort;
  };
  registerBackend(defaultContainer, 'ort-node', () => new OrtBackend('ort-node', loadOrt('onnxruntime-node'), { exactEdgeCases: false }));
  registerBackend(defaultContainer, 'ort-web 1 thread', () => new OrtBackend('ort-web 1 thread', web, { threads: 1, exactEdgeCases: false }));
  registerBackend(defaultContainer, 'ort-web 2 threads', () => new OrtBackend('ort-web 2 threads', web, { threads: 2, exactEdgeCases: false }));
}
