import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { Graph } from '@tessera/core';

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
 * The same graph in TensorFlow.js, op by op (the benchmark's peer), on tfjs' current backend.
 * Weights are uploaded once; each call runs the forward pass and reads the result back with
 * dataSync(), as the peers were measured in ANCHORS.md.
 */
export function tfjsRunner(graph: Graph): { run: (x: Float32Array) => Float32Array; dispose: () => void } {
  const consts = new Map([...graph.constants].map(([name, t]) => [name, tf.tensor(t.data, [...t.shape])]));
  const input = graph.inputs[0];
  const outName = Object.values(graph.outputs)[0];
  const forward = (x: tf.Tensor): tf.Tensor => {
    const values = new Map<string, tf.Tensor>([[input.name, x], ...consts]);
    for (const n of graph.nodes) {
      const a = n.inputs.map((i) => values.get(i)!);
      const at = n.attrs as Record<string, never>;
      const y = (() => {
        switch (n.op) {
          case 'conv2d':
            return tf.conv2d(a[0] as tf.Tensor4D, a[1] as tf.Tensor4D, at['strides'], tfjsPadding(at['padding']), 'NHWC', at['dilations']);
          case 'bias_add':
            return tf.add(a[0], a[1]);
          case 'relu':
            return tf.relu(a[0]);
          case 'maxpool':
            return tf.maxPool(a[0] as tf.Tensor4D, at['ksize'], at['strides'], tfjsPadding(at['padding']) as 'same' | 'valid');
          case 'reshape':
            return tf.reshape(a[0], at['shape']);
          case 'matmul':
            return tf.matMul(a[0], a[1], at['transposeA'], at['transposeB']);
          default:
            throw new Error(`benchmark peer: op ${n.op} is not mapped to tfjs`);
        }
      })();
      values.set(n.name, y);
    }
    return values.get(outName)!;
  };
  const shape = [...input.shape];
  return {
    run(data) {
      const y = tf.tidy(() => forward(tf.tensor(data, shape)));
      const out = y.dataSync() as Float32Array;
      y.dispose();
      return out;
    },
    dispose: () => consts.forEach((t) => t.dispose()),
  };
}

type Explicit = [[number, number], [number, number]];

/** Tessera's padding in tfjs' spelling: 'same' / 'valid', or explicit pads per NHWC axis. */
function tfjsPadding(p: 'SAME' | 'VALID' | Explicit): 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
  if (p === 'SAME') return 'same';
  if (p === 'VALID') return 'valid';
  return [[0, 0], p[0], p[1], [0, 0]];
}
