import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { Graph } from '@tessera/core';
import { tfjsGraph } from './tfjs-graph.js';

export type TfjsBackend = 'cpu' | 'wasm';

/** Makes `backend` tfjs' current backend (the wasm one loads its bundled .wasm from node_modules). */
export async function useTfjsBackend(backend: TfjsBackend): Promise<void> {
  if (backend === 'wasm' && !tf.findBackend('wasm')) {
    const require = createRequire(import.meta.url);
    setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
  }
  await tf.setBackend(backend);
  await tf.ready();
}

/**
 * The same graph in TensorFlow.js, op by op (the benchmark's peer, tfjs-graph.ts), on tfjs'
 * current backend. Weights are uploaded once; each call runs the forward pass and reads the
 * result back with dataSync(), as the peers were measured in ANCHORS.md.
 */
export function tfjsRunner(graph: Graph): { run: (x: Float32Array) => Float32Array; dispose: () => void } {
  const { forward, dispose } = tfjsGraph(graph);
  const shape = [...graph.inputs[0].shape];
  return {
    run(data) {
      const y = tf.tidy(() => forward(tf.tensor(data, shape)));
      const out = y.dataSync() as Float32Array;
      y.dispose();
      return out;
    },
    dispose,
  };
}
