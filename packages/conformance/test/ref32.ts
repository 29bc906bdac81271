/**
 * A test-only backend: core's float64 reference per node, every node's result rounded to
 * float32. Correct by construction, so the suite must pass it; its deliberately wrong variants
 * must be caught.
 */
import { exactRef, numel, opSpec, type Graph, type RefTensor } from '@tessera/core';
import { createContainer, registerBackend, type Backend, type Executable } from '@tessera/runtime';

export interface Ref32Options {
  /**
   * 'abs' computes relu (alone and fused) as |x|, 'keep-neg-zero' as `x < 0 ? 0 : x` (relu(-0) =
   * -0): wrong backends.
   */
  readonly relu?: 'max' | 'abs' | 'keep-neg-zero';
  /** Keep only this many mantissa bits of matmul / conv results (float16 has 11): a backend that lost precision. */
  readonly dotMantissaBits?: number;
  /** Ops the backend has no kernel for. */
  readonly missing?: readonly string[];
  /**
   * Gives bound input / output arrays (`ioBuffers`) but reuses the inputs' memory during a run,
   * as a backend that ignored `plan.options.keepInputs` would: a second run of inputs written
   * once sees garbage.
   */
  readonly clobberBoundInputs?: boolean;
  /** Compile and dispose counts, to check the runner disposes every session. */
  readonly counters?: { compiled: number; disposed: number };
}

export function ref32Backend(name: string, options: Ref32Options = {}): Backend {
  return {
    name,
    hasKernel: (op) => !(options.missing ?? []).includes(op),
    async compile(graph: Graph): Promise<Executable> {
      if (options.counters) options.counters.compiled++;
      let disposed = false;
      const io = options.clobberBoundInputs
        ? {
            inputs: Object.fromEntries(graph.inputs.map((v) => [v.name, new Float32Array(numel(v.shape))])),
            outputs: Object.fromEntries(Object.entries(graph.outputs).map(([k, v]) => [k, new Float32Array(numel(graph.value(v).shape))])),
          }
        : null;
      return {
        ...(io ? { ioBuffers: () => io } : {}),
        async run(feeds, observer, into) {
          if (disposed) throw new Error('executable is disposed');
          const values = new Map<string, RefTensor>();
          for (const v of graph.inputs) values.set(v.name, exactRef(v.shape, feeds[v.name]));
          for (const [k, t] of graph.constants) values.set(k, exactRef(t.shape, t.data));
          for (const node of graph.nodes) {
            observer?.nodeStart(node);
            const out = opSpec(node.op).reference(node.inputs.map((i) => values.get(i)!), node.attrs, node.output.shape);
            const value = Float64Array.from(out.value, (v) => Math.fround(v));
            const fusedRelu = (node.op === 'fused_conv2d' || node.op === 'fused_matmul') && node.attrs.activation === 'relu';
            if (options.relu !== undefined && options.relu !== 'max' && (node.op === 'relu' || fusedRelu)) {
              // Redo the op without its relu, then the wrong relu.
              const wrong = options.relu === 'abs' ? Math.abs : (x: number) => (x < 0 ? 0 : x);
              const pre = fusedRelu ? opSpec(node.op).reference(node.inputs.map((i) => values.get(i)!), { ...node.attrs, activation: 'none' }, node.output.shape).value : values.get(node.inputs[0])!.value;
              for (let i = 0; i < value.length; i++) value[i] = Math.fround(wrong(pre[i]));
            }
            if (options.dotMantissaBits !== undefined && /conv2d|matmul/.test(node.op)) {
              for (let i = 0; i < value.length; i++) value[i] = roundMantissa(value[i], options.dotMantissaBits);
            }
            values.set(node.name, { shape: out.shape, value, bound: out.bound });
            observer?.nodeEnd(node);
          }
          if (io) for (const [k, a] of Object.entries(io.inputs)) if (feeds[k] === a) a.fill(12345);
          return Object.fromEntries(
            Object.entries(graph.outputs).map(([k, v]) => {
              const result = Float32Array.from(values.get(v)!.value);
              return [k, into?.[k] ? (into[k].set(result), into[k]) : result];
            }),
          );
        },
        dispose() {
          if (!disposed && options.counters) options.counters.disposed++;
          disposed = true;
        },
      };
    },
    async dispose() {},
  };
}

function roundMantissa(x: number, bits: number): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  const e = Math.floor(Math.log2(Math.abs(x)));
  const q = 2 ** (e - bits + 1);
  return Math.round(x / q) * q;
}

/** A fresh container with the backend registered under `name`. */
export function containerWith(name: string, options: Ref32Options = {}) {
  const container = createContainer();
  registerBackend(container, name, () => ref32Backend(name, options), 'test-only float64 reference rounded to float32');
  return container;
}
