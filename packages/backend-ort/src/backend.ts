import { TesseraError, numel, type Feeds, type Graph } from '@tessera/core';
import { EXPORTERS, TO_NCHW, TO_NHWC, exportOnnx, permute, transposeData } from '@tessera/onnx';
import type { Backend, Executable, ExecutionPlan, Outputs } from '@tessera/runtime';
import type { InferenceSession, Tensor } from 'onnxruntime-common';

/** What the backend needs of an ONNX Runtime package (onnxruntime-node and onnxruntime-web both have it). */
export interface OrtRuntime {
  readonly InferenceSession: { create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => Tensor;
}

export interface OrtBackendOptions {
  /** Intra-op threads (default: ONNX Runtime's own choice). */
  readonly threads?: number;
  /** Extra ONNX Runtime session options (execution providers, graph optimization level, ...). */
  readonly session?: InferenceSession.SessionOptions;
  /**
   * Export so that ONNX Runtime computes TensorFlow's values where its kernels differ at the edges
   * (`@tessera/onnx`'s `exactEdgeCases`: zero signs after relu, NaN weights over padding, NaN in
   * max pool windows, batch_norm's form, the bias after the product), with the rewrites that would
   * undo it off (`SESSION_CONFIG`), as the conformance suite demands. Default true; benchmark
   * peers turn it off.
   */
  readonly exactEdgeCases?: boolean;
}

/**
 * ONNX Runtime rewrites turned off. Its rule 'Pad_Fusion' folds a Pad into the next Conv / pool:
 * it would undo `exactEdgeCases`' explicit pads, and into an AveragePool it makes pads its kernel
 * then refuses ("Pad should be smaller than kernel"). ConvAddActivationFusion adds a residual
 * inside the Conv's sums, where TensorFlow adds it to the finished conv (and bias);
 * MatMulAddFusion makes MatMul + Add a Gemm whose C (the bias) starts the sums.
 */
const SESSION_CONFIG = { optimization: { disable_specified_optimizers: 'Pad_Fusion;ConvAddActivationFusion;MatMulAddFusion' } };

/**
 * ONNX Runtime as a Tessera backend: compile exports the graph to ONNX (`@tessera/onnx`) and
 * creates an InferenceSession; a run feeds it and reads its outputs. Tessera values are NHWC,
 * the exported model's 4-D inputs and outputs NCHW (as ONNX models are): those are transposed
 * on the way in and out. ONNX Runtime plans its own memory, so the session's plan is advisory.
 */
export class OrtBackend implements Backend {
  constructor(
    readonly name: string,
    private readonly runtime: () => Promise<OrtRuntime>,
    private readonly options: OrtBackendOptions = {},
  ) {}

  hasKernel(op: string): boolean {
    return Object.hasOwn(EXPORTERS, op);
  }

  async compile(graph: Graph, _plan: ExecutionPlan): Promise<Executable> {
    const ort = await this.runtime();
    const { threads, session, exactEdgeCases = true } = this.options;
    const created = await ort.InferenceSession.create(exportOnnx(graph, { exactEdgeCases }), {
      logSeverityLevel: 3,
      ...(exactEdgeCases && { extra: SESSION_CONFIG }),
      ...(threads !== undefined && { intraOpNumThreads: threads, interOpNumThreads: 1 }),
      ...session,
    });
    return new OrtExecutable(graph, ort, created, this.name);
  }

  async dispose(): Promise<void> {}
}

class OrtExecutable implements Executable {
  private released = false;

  constructor(
    private readonly graph: Graph,
    private readonly ort: OrtRuntime,
    private readonly session: InferenceSession,
    private readonly backend: string,
  ) {}

  async run(feeds: Feeds): Promise<Outputs> {
    if (this.released) throw new TesseraError(`backend '${this.backend}': the executable of graph '${this.graph.name}' is disposed`);
    const inputs: Record<string, Tensor> = {};
    for (const v of this.graph.inputs) {
      const data = feeds[v.name];
      inputs[v.name] = v.shape.length === 4 ? new this.ort.Tensor('float32', transposeData(data, v.shape, TO_NCHW), permute(v.shape, TO_NCHW)) : new this.ort.Tensor('float32', data, v.shape);
    }
    const results = await this.session.run(inputs);
    const outputs: Outputs = {};
    for (const [name, value] of Object.entries(this.graph.outputs)) {
      const shape = this.graph.value(value).shape;
      const t = results[name];
      if (!t || t.type !== 'float32' || (t.data as Float32Array).length !== numel(shape)) {
        throw new TesseraError(`backend '${this.backend}': ONNX Runtime returned no float32 [${shape.join(', ')}] for output '${name}'`);
      }
      const data = t.data as Float32Array;
      outputs[name] = shape.length === 4 ? transposeData(data, permute(shape, TO_NCHW), TO_NHWC) : data.slice();
      t.dispose();
    }
    return outputs;
  }

  dispose(): void {
    if (this.released) return;
    this.released = true;
    void this.session.release();
  }
}
