/**
 * A small, complete Tessera backend: every op as plain float32 loops (Math.fround after every
 * multiply and add), over the arena the runtime's execution plan lays out. It is the example of
 * docs/BACKENDS.md and passes the conformance suite (packages/conformance/test/custom-backend.test.ts).
 *
 *   import { registerLoopsBackend } from './loops-backend.js';
 *   registerLoopsBackend(container);                        // or defaultContainer
 *   const session = await createSession(graph, { backend: 'loops', container });
 */
import {
  broadcastStrides, concatGeometry, convGeometry, forEachPoolWindow, matmulGeometry, numel, offsetOf, poolGeometry, reduction, rowMajorStrides, transposeData, transposePerm,
  type Activation, type AvgPoolAttrs, type BatchNormAttrs, type ConcatAttrs, type Conv2dAttrs, type ConvGeometry, type Feeds, type Graph, type MatmulAttrs,
  type MaxpoolAttrs, type MeanAttrs, type Node, type PadAttrs, type SliceAttrs, type TransposeAttrs,
} from '@tessera/core';
import {
  KernelRegistry, registerBackend,
  type Backend, type Executable, type ExecutionPlan, type NodeObserver, type Outputs,
} from '@tessera/runtime';

type Container = Parameters<typeof registerBackend>[0];
const f = Math.fround;

/** What a kernel gets: the node, its operands and its output as float32 views. */
interface Args {
  readonly node: Node;
  readonly graph: Graph;
  readonly inputs: readonly Float32Array[];
  readonly out: Float32Array;
}
type LoopKernel = (a: Args) => void;

/** This backend's kernels, by op. A private registry (runtime's `kernelRegistry` is the shared one). */
export const loopsKernels = new KernelRegistry();
const BACKEND = 'loops';
const shapeOf = (a: Args, i: number) => a.graph.value(a.node.inputs[i]).shape;

/** conv2d / fused_conv2d: padded taps are zeros that still multiply the weight (0 * Inf = NaN, as the reference). */
function conv(a: Args, e: Epilogue): void {
  const g: ConvGeometry = convGeometry(shapeOf(a, 0), shapeOf(a, 1), a.node.attrs as Conv2dAttrs);
  const [x, w] = a.inputs;
  let o = 0;
  for (let n = 0; n < g.batch; n++)
    for (let oy = 0; oy < g.outH; oy++)
      for (let ox = 0; ox < g.outW; ox++)
        for (let co = 0; co < g.outC; co++, o++) {
          let acc = 0;
          for (let ky = 0; ky < g.kH; ky++) {
            const iy = oy * g.strideH + ky * g.dilationH - g.padTop;
            for (let kx = 0; kx < g.kW; kx++) {
              const ix = ox * g.strideW + kx * g.dilationW - g.padLeft;
              const inside = iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW;
              for (let ci = 0; ci < g.inC; ci++) {
                const xv = inside ? x[((n * g.inH + iy) * g.inW + ix) * g.inC + ci] : 0;
                acc = f(acc + f(xv * w[((ky * g.kW + kx) * g.inC + ci) * g.outC + co]));
              }
            }
          }
          a.out[o] = epilogue(acc, e, co, o);
        }
}

/** What a fused op adds after the product: a bias, an output-shaped residual (fused_conv2d), an activation. */
interface Epilogue {
  readonly bias: Float32Array | null;
  readonly residual: Float32Array | null;
  readonly activation: Activation;
}

const NONE: Epilogue = { bias: null, residual: null, activation: 'none' };

/** The epilogue of a fused node (operands 2 and 3, its `activation`). */
const fusedEpilogue = (a: Args): Epilogue => ({
  bias: a.inputs[2],
  residual: a.inputs[3] ?? null,
  activation: (a.node.attrs as { activation: Activation }).activation,
});

/** ((v + bias[c]) + residual[o]), each rounded, then the activation: NaN stays NaN (`NaN <= 0` is false), -0 gives +0. */
function epilogue(v: number, e: Epilogue, c: number, o: number): number {
  let y = e.bias ? f(v + e.bias[c]) : v;
  if (e.residual) y = f(y + e.residual[o]);
  if (e.activation === 'none') return y;
  return y <= 0 ? 0 : e.activation === 'relu6' && y > 6 ? 6 : y;
}

function matmul(a: Args, e: Epilogue): void {
  const g = matmulGeometry(shapeOf(a, 0), shapeOf(a, 1), a.node.attrs as MatmulAttrs);
  const [x, y] = a.inputs;
  for (let t = 0; t < g.batch; t++) {
    const xBase = t * g.m * g.k;
    const yBase = g.sharedB ? 0 : t * g.k * g.n;
    for (let i = 0; i < g.m; i++)
      for (let j = 0; j < g.n; j++) {
        let acc = 0;
        for (let p = 0; p < g.k; p++) {
          const xv = x[xBase + (g.transposeA ? p * g.m + i : i * g.k + p)];
          const yv = y[yBase + (g.transposeB ? j * g.k + p : p * g.n + j)];
          acc = f(acc + f(xv * yv));
        }
        const o = (t * g.m + i) * g.n + j;
        a.out[o] = epilogue(acc, e, j, o);
      }
  }
}

function maxpool(a: Args): void {
  const g = poolGeometry(shapeOf(a, 0), a.node.attrs as MaxpoolAttrs);
  const x = a.inputs[0];
  let o = 0;
  for (let n = 0; n < g.batch; n++)
    for (let oy = 0; oy < g.outH; oy++)
      for (let ox = 0; ox < g.outW; ox++)
        for (let c = 0; c < g.inC; c++, o++) {
          let best = -Infinity; // padded cells are skipped: they never win
          for (let ky = 0; ky < g.kH; ky++) {
            const iy = oy * g.strideH + ky - g.padTop;
            if (iy < 0 || iy >= g.inH) continue;
            for (let kx = 0; kx < g.kW; kx++) {
              const ix = ox * g.strideW + kx - g.padLeft;
              if (ix < 0 || ix >= g.inW) continue;
              const v = x[((n * g.inH + iy) * g.inW + ix) * g.inC + c];
              if (v !== v || v > best) best = v; // a NaN wins and stays
              if (best !== best) break;
            }
            if (best !== best) break;
          }
          a.out[o] = best;
        }
}

function slice(a: Args): void {
  const { begin, strides } = a.node.attrs as SliceAttrs;
  const inStrides = rowMajorStrides(shapeOf(a, 0));
  const outShape = a.node.output.shape;
  for (let o = 0; o < a.out.length; o++) {
    let src = 0;
    for (let ax = outShape.length - 1, rest = o; ax >= 0; ax--) {
      const i = rest % outShape[ax];
      rest = (rest - i) / outShape[ax];
      src += (begin[ax] + i * strides[ax]) * inStrides[ax];
    }
    a.out[o] = a.inputs[0][src];
  }
}

const relu: LoopKernel = ({ inputs: [x], out }) => {
  for (let i = 0; i < out.length; i++) out[i] = x[i] <= 0 ? 0 : x[i];
};
const biasAdd: LoopKernel = ({ inputs: [x, b], out }) => {
  for (let i = 0; i < out.length; i++) out[i] = f(x[i] + b[i % b.length]);
};

/** add / mul with NumPy broadcasting: output element o reads each operand through its broadcast strides. */
function binary(a: Args, op: (x: number, y: number) => number): void {
  const out = a.node.output.shape;
  const [sa, sb] = [0, 1].map((i) => broadcastStrides(shapeOf(a, i), out));
  const [x, y] = a.inputs;
  for (let o = 0; o < a.out.length; o++) {
    let ia = 0;
    let ib = 0;
    for (let ax = out.length - 1, rest = o; ax >= 0; ax--) {
      const i = rest % out[ax];
      rest = (rest - i) / out[ax];
      ia += i * sa[ax];
      ib += i * sb[ax];
    }
    a.out[o] = f(op(x[ia], y[ib]));
  }
}

/** Constant padding: every output element is the value, then the input is written inside. */
function pad(a: Args): void {
  const { paddings, value } = a.node.attrs as PadAttrs;
  const inShape = shapeOf(a, 0);
  const outStrides = rowMajorStrides(a.node.output.shape);
  a.out.fill(value);
  for (let i = 0; i < a.inputs[0].length; i++) {
    let o = 0;
    for (let ax = inShape.length - 1, rest = i; ax >= 0; ax--) {
      const idx = rest % inShape[ax];
      rest = (rest - idx) / inShape[ax];
      o += (idx + paddings[ax][0]) * outStrides[ax];
    }
    a.out[o] = a.inputs[0][i];
  }
}

/** Concatenation: each operand's runs copied into place. */
function concat(a: Args): void {
  const g = concatGeometry(a.node.inputs.map((_, i) => shapeOf(a, i)), (a.node.attrs as ConcatAttrs).axis);
  a.inputs.forEach((x, k) => {
    for (let r = 0; r < g.outer; r++) a.out.set(x.subarray(r * g.inner[k], (r + 1) * g.inner[k]), r * g.total + g.offsets[k]);
  });
}

/** Transpose: core's index walk (output axis a reads input axis perm[a]). */
function transpose(a: Args): void {
  const inShape = shapeOf(a, 0);
  transposeData(a.inputs[0], inShape, transposePerm((a.node.attrs as TransposeAttrs).perm, inShape.length), a.out);
}

const relu6: LoopKernel = ({ inputs: [x], out }) => {
  for (let i = 0; i < out.length; i++) out[i] = x[i] <= 0 ? 0 : x[i] > 6 ? 6 : x[i]; // NaN stays NaN
};

/** An activation of a fused op ('none' | 'relu' | 'relu6'), NaN kept, +0 for y <= 0. */
/**
 * depthwise_conv2d: output channel c * multiplier + m is input channel c convolved with filter[:, :, c, m];
 * fused_depthwise_conv2d then adds the bias and applies its activation.
 */
function depthwiseConv(a: Args, e: Epilogue): void {
  const g: ConvGeometry = convGeometry(shapeOf(a, 0), shapeOf(a, 1), a.node.attrs as Conv2dAttrs, true);
  const [x, w] = a.inputs;
  const mult = g.outC / g.inC;
  let o = 0;
  for (let n = 0; n < g.batch; n++)
    for (let oy = 0; oy < g.outH; oy++)
      for (let ox = 0; ox < g.outW; ox++)
        for (let co = 0; co < g.outC; co++, o++) {
          const ci = Math.floor(co / mult);
          let acc = 0;
          for (let ky = 0; ky < g.kH; ky++) {
            const iy = oy * g.strideH + ky * g.dilationH - g.padTop;
            for (let kx = 0; kx < g.kW; kx++) {
              const ix = ox * g.strideW + kx * g.dilationW - g.padLeft;
              const xv = iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW ? x[((n * g.inH + iy) * g.inW + ix) * g.inC + ci] : 0;
              acc = f(acc + f(xv * w[(ky * g.kW + kx) * g.outC + co]));
            }
          }
          a.out[o] = epilogue(acc, e, co, o);
        }
}

/** avg_pool: the float32 sum of the window's cells inside the input, divided by their count. */
function avgPool(a: Args): void {
  const x = a.inputs[0];
  forEachPoolWindow(poolGeometry(shapeOf(a, 0), a.node.attrs as AvgPoolAttrs), (o, cells, c) => {
    let acc = 0;
    for (const cell of cells) acc = f(acc + x[cell + c]);
    a.out[o] = f(acc / cells.length);
  });
}

/** mean: per output, the float32 sum of the reduced elements divided by their count. */
function mean(a: Args): void {
  const r = reduction(shapeOf(a, 0), a.node.attrs as MeanAttrs);
  const x = a.inputs[0];
  for (let o = 0; o < a.out.length; o++) {
    const base = offsetOf(o, r.keptSizes, r.keptStrides);
    let acc = 0;
    for (let k = 0; k < r.count; k++) acc = f(acc + x[base + offsetOf(k, r.reducedSizes, r.reducedStrides)]);
    a.out[o] = f(acc / r.count);
  }
}

/** softmax over the last axis, the row maximum subtracted first. */
function softmax(a: Args): void {
  const shape = shapeOf(a, 0);
  const k = shape[shape.length - 1];
  const [x, out] = [a.inputs[0], a.out];
  for (let start = 0; start < x.length; start += k) {
    let m = -Infinity;
    for (let i = start; i < start + k; i++) m = x[i] !== x[i] || x[i] > m ? x[i] : m; // a NaN wins
    let sum = 0;
    for (let i = start; i < start + k; i++) {
      out[i] = f(Math.exp(f(x[i] - m)));
      sum = f(sum + out[i]);
    }
    for (let i = start; i < start + k; i++) out[i] = f(out[i] / sum);
  }
}

/** batch_norm: ((x - mean) * scale) * (1 / sqrt(variance + epsilon)) + offset, per channel (the last axis). */
function batchNorm(a: Args): void {
  const [x, m, v, off, s] = a.inputs;
  const eps = f((a.node.attrs as BatchNormAttrs).epsilon);
  const r = Float32Array.from(v, (vc) => f(1 / f(Math.sqrt(f(vc + eps)))));
  for (let i = 0; i < x.length; i++) {
    const c = i % m.length;
    a.out[i] = f(f(f(f(x[i] - m[c]) * s[c]) * r[c]) + off[c]);
  }
}

loopsKernels.register<LoopKernel>(BACKEND, 'conv2d', (a) => conv(a, NONE));
loopsKernels.register<LoopKernel>(BACKEND, 'fused_conv2d', (a) => conv(a, fusedEpilogue(a)));
loopsKernels.register<LoopKernel>(BACKEND, 'matmul', (a) => matmul(a, NONE));
loopsKernels.register<LoopKernel>(BACKEND, 'fused_matmul', (a) => matmul(a, fusedEpilogue(a)));
loopsKernels.register<LoopKernel>(BACKEND, 'maxpool', maxpool);
loopsKernels.register<LoopKernel>(BACKEND, 'relu', relu);
loopsKernels.register<LoopKernel>(BACKEND, 'bias_add', biasAdd);
loopsKernels.register<LoopKernel>(BACKEND, 'slice', slice);
loopsKernels.register<LoopKernel>(BACKEND, 'add', (a) => binary(a, (x, y) => x + y));
loopsKernels.register<LoopKernel>(BACKEND, 'mul', (a) => binary(a, (x, y) => x * y));
loopsKernels.register<LoopKernel>(BACKEND, 'relu6', relu6);
loopsKernels.register<LoopKernel>(BACKEND, 'pad', pad);
loopsKernels.register<LoopKernel>(BACKEND, 'concat', concat);
loopsKernels.register<LoopKernel>(BACKEND, 'transpose', transpose);
loopsKernels.register<LoopKernel>(BACKEND, 'depthwise_conv2d', (a) => depthwiseConv(a, NONE));
loopsKernels.register<LoopKernel>(BACKEND, 'fused_depthwise_conv2d', (a) => depthwiseConv(a, fusedEpilogue(a)));
loopsKernels.register<LoopKernel>(BACKEND, 'avg_pool', avgPool);
loopsKernels.register<LoopKernel>(BACKEND, 'mean', mean);
loopsKernels.register<LoopKernel>(BACKEND, 'softmax', softmax);
loopsKernels.register<LoopKernel>(BACKEND, 'batch_norm', batchNorm);

/** Float32 loops over the planned arena; reshape is a view (the plan gives it its input's buffer). */
export class LoopsBackend implements Backend {
  readonly name = BACKEND;

  hasKernel(op: string): boolean {
    return op === 'reshape' || loopsKernels.has(BACKEND, op);
  }

  async compile(graph: Graph, plan: ExecutionPlan): Promise<Executable> {
    let arena: Float32Array | null = new Float32Array(plan.arenaSize);
    /** A value's storage: a view of its arena buffer, or the constant's own data. */
    const at = (mem: Float32Array, value: string): Float32Array => {
      const loc = plan.locate(value);
      if (loc.kind === 'constant') return graph.constants.get(loc.name)!.data;
      return mem.subarray(loc.buffer.offset, loc.buffer.offset + numel(graph.value(value).shape));
    };
    const steps = plan.steps.filter((n) => !plan.isView(n)).map((node) => ({ node, kernel: loopsKernels.get<LoopKernel>(BACKEND, node.op)! }));
    return {
      async run(feeds: Feeds, observer?: NodeObserver): Promise<Outputs> {
        if (!arena) throw new Error(`backend '${BACKEND}': executable is disposed`);
        const mem = arena;
        for (const v of graph.inputs) at(mem, v.name).set(feeds[v.name]);
        for (const { node, kernel } of steps) {
          observer?.nodeStart(node);
          kernel({ node, graph, inputs: node.inputs.map((i) => at(mem, i)), out: at(mem, node.name) });
          observer?.nodeEnd(node);
        }
        return Object.fromEntries(Object.entries(graph.outputs).map(([name, v]) => [name, at(mem, v).slice()]));
      },
      dispose() {
        arena = null;
      },
    };
  }

  async dispose(): Promise<void> {}
}

/** Binds the backend under `name` (default 'loops') in a container. */
export function registerLoopsBackend(container: Container, name = BACKEND): void {
  registerBackend(container, name, () => new LoopsBackend(), 'example: float32 loops, one function per op');
}
