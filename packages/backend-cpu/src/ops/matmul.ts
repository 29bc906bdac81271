import { matmulGeometry, type MatmulAttrs, type MatmulGeometry, type Node } from '@tessera/core';
import { gemm, packBInto, packedBSize, packedBView, type PackedB } from '../kernels/index.js';
import { view, type CpuKernel, type Memory, type PrepareContext, type Ref, type Step } from '../program.js';

/** matmul and fused_matmul: rows of all batches are the units; b packed at compile when constant. */
export interface MatmulStep extends Step {
  readonly g: MatmulGeometry;
  readonly a: Ref;
  readonly b: Ref;
  readonly bPacked: boolean;
  readonly bias: Ref | null;
  readonly relu: boolean;
  readonly y: Ref;
}

export function prepareMatmul(node: Node, ctx: PrepareContext, bias: string | null, relu: boolean): MatmulStep {
  const [a, b] = node.inputs;
  const g = matmulGeometry(ctx.graph.value(a).shape, ctx.graph.value(b).shape, node.attrs as MatmulAttrs);
  const constB = ctx.graph.constants.get(b);
  // A shared constant b is packed once; batched constant b's are packed per batch, back to back.
  const bBatches = g.sharedB ? 1 : g.batch;
  const ldb = g.transposeB ? g.k : g.n;
  const one = packedBSize(g.k, g.n);
  const bRef = constB
    ? ctx.reserveWeights(one * bBatches, (dst, off) => {
        for (let t = 0; t < bBatches; t++) packBInto(dst, off + t * one, g.k, g.n, constB.data, t * g.k * g.n, ldb, g.transposeB);
      })
    : ctx.operand(b);
  return {
    kernel: 'matmul',
    node: node.name,
    units: g.batch * g.m,
    costPerUnit: g.k * g.n,
    g,
    a: ctx.operand(a),
    b: bRef,
    bPacked: constB !== undefined,
    bias: bias === null ? null : ctx.operand(bias),
    relu,
    y: ctx.output(node),
  };
}

function packedB(s: MatmulStep, mem: Memory, batch: number, scratch: Float32Array): PackedB {
  const { k, n, sharedB, transposeB } = s.g;
  const t = sharedB ? 0 : batch;
  if (s.bPacked) return packedBView(mem.weights, s.b.off + t * packedBSize(k, n), k, n);
  return packBInto(scratch, 0, k, n, view(mem, s.b), s.b.off + t * k * n, transposeB ? k : n, transposeB);
}

export const matmulKernel: CpuKernel<MatmulStep> = {
  op: 'matmul',
  prepare: (node, ctx) => prepareMatmul(node, ctx, null, false),
  scratchSize: (s) => (s.bPacked ? 0 : packedBSize(s.g.k, s.g.n)),
  run(s, mem, start, end, scratch) {
    const { m, k, n, transposeA } = s.g;
    const epilogue = s.bias ? { bias: view(mem, s.bias), biasOff: s.bias.off, relu: s.relu } : { relu: s.relu };
    const a = view(mem, s.a);
    const y = view(mem, s.y);
    for (let t = Math.floor(start / m); t * m < end; t++) {
      const r0 = Math.max(start - t * m, 0);
      const r1 = Math.min(end - t * m, m);
      const b = packedB(s, mem, t, scratch);
      gemm(m, n, k, a, s.a.off + t * m * k, transposeA ? m : k, transposeA, b, y, s.y.off + t * m * n, n, epilogue, r0, r1);
    }
  },
};
