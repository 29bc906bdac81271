import type { Feeds, Graph } from '@tessera/core';
import ort from 'onnxruntime-node';
import { exportOnnx } from '../src/index.js';
import { TO_NCHW, TO_NHWC, permute, transposeData } from '../src/layout.js';

/**
 * Runs a Tessera graph in ONNX Runtime (node, CPU) through exportOnnx, with Tessera's feeds and
 * results (NHWC): 4-D tensors are transposed to the model's NCHW and back. Two intra-op threads
 * without spinning (a spinning pool steals a core from whatever runs next on 2 cores). ONNX
 * Runtime's rewrite 'Pad_Fusion' off: it folds a Pad into a following 1x1 AveragePool whose kernel
 * then refuses the pads ("Pad should be smaller than kernel"), as @tessera/backend-ort does.
 */
export async function runInOrt(graph: Graph, feeds: Feeds): Promise<Map<string, Float32Array>> {
  const session = await ort.InferenceSession.create(exportOnnx(graph), {
    intraOpNumThreads: 2,
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: '0' } }, optimization: { disable_specified_optimizers: 'Pad_Fusion' } },
  });
  try {
    const inputs: Record<string, ort.Tensor> = {};
    for (const v of graph.inputs) {
      const data = feeds[v.name];
      inputs[v.name] = v.shape.length === 4 ? new ort.Tensor('float32', transposeData(data, v.shape, TO_NCHW), permute(v.shape, TO_NCHW)) : new ort.Tensor('float32', data, [...v.shape]);
    }
    const results = await session.run(inputs);
    const out = new Map<string, Float32Array>();
    for (const [key, value] of Object.entries(graph.outputs)) {
      const t = results[key];
      const data = t.data as Float32Array;
      const shape = graph.value(value).shape;
      out.set(key, shape.length === 4 ? transposeData(data, permute(shape, TO_NCHW), TO_NHWC) : data);
    }
    return out;
  } finally {
    await session.release();
  }
}
