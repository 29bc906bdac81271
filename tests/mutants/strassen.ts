/**
 * A backend that runs matmuls as one level of Strassen-Winograd (as the cpu backend's
 * `matmul_strassen` does, in TypeScript float32 arithmetic, on the same panels) and reports them
 * as 'strassen-1', so that conformance judges them by the widened bound: correct (the control),
 * and with one sign of the output combination wrong (the mutant).
 */
import { CPU_KERNELS, view, type CpuKernel, type MatmulStep, type Memory, type PrepareContext } from '@tessera/backend-cpu/kernels';
import { STRASSEN_PANEL_ROWS, STRASSEN_PRODUCTS, strassenAlgorithm, strassenEligible, strassenRows, type Node } from '@tessera/core';
import type { MutantSpec } from './backend.js';

const cpu = (op: string): CpuKernel => CPU_KERNELS.find((k) => k.op === op)!;
const f32 = Math.fround;

/** A matmul step that also holds its constant b (k x n, not transposed) for the Strassen path. */
interface StrassenMutantStep extends MatmulStep {
  readonly rawB: Float32Array | null;
}

/**
 * Rows [0, r) of y = a b by one level, panel at row `r0`; the output combination `c` (core's
 * STRASSEN_PRODUCTS.c, or a faulty copy). Each sum rounds as the backend's: operand sums of a
 * left to right, b's in float64 once, products as float32 dot products, outputs left to right.
 * Returns false if a result is not finite.
 */
function panel(s: StrassenMutantStep, mem: Memory, r0: number, r: number, c: readonly (readonly number[])[]): boolean {
  const { k, n } = s.g;
  const [hr, hk, hn] = [r / 2, k / 2, n / 2];
  const a = view(mem, s.a);
  const y = view(mem, s.y);
  const aAt = (q: number, i: number, l: number) => a[s.a.off + (r0 + (q >> 1) * hr + i) * k + (q & 1) * hk + l];
  const bAt = (q: number, l: number, j: number) => s.rawB![((q >> 1) * hk + l) * n + (q & 1) * hn + j];
  const products = STRASSEN_PRODUCTS.a.map((ca, p) => {
    const x = new Float32Array(hr * hk);
    const w = new Float32Array(hk * hn);
    for (let i = 0; i < hr; i++) for (let l = 0; l < hk; l++) x[i * hk + l] = ca.reduce((acc, co, q) => (co === 0 ? acc : f32(acc + co * aAt(q, i, l))), 0);
    for (let l = 0; l < hk; l++) for (let j = 0; j < hn; j++) w[l * hn + j] = STRASSEN_PRODUCTS.b[p].reduce((acc, co, q) => acc + co * bAt(q, l, j), 0);
    const out = new Float32Array(hr * hn);
    for (let i = 0; i < hr; i++) for (let j = 0; j < hn; j++) {
      let acc = 0;
      for (let l = 0; l < hk; l++) acc = f32(acc + f32(x[i * hk + l] * w[l * hn + j]));
      out[i * hn + j] = acc;
    }
    return out;
  });
  const bias = s.bias ? view(mem, s.bias) : null;
  let finite = true;
  c.forEach((cc, q) => {
    for (let i = 0; i < hr; i++) for (let j = 0; j < hn; j++) {
      let v = cc.reduce((acc, co, p) => (co === 0 ? acc : f32(acc + co * products[p][i * hn + j])), 0);
      // Checked before the epilogue, as the backend's merge does (a relu would hide a -Inf).
      finite &&= Number.isFinite(v);
      const col = (q & 1) * hn + j;
      if (bias) v = f32(v + bias[s.bias!.off + col]);
      if (s.activation !== 'none' && v <= 0) v = 0;
      if (s.activation === 'relu6' && v > 6) v = 6;
      y[s.y.off + (r0 + (q >> 1) * hr + i) * n + col] = v;
    }
  });
  return finite;
}

/** matmul / fused_matmul (`op`) as one Strassen level where eligible (b constant, shared, not transposed), else the cpu kernel. */
function strassenKernel(op: 'matmul' | 'fused_matmul', c: readonly (readonly number[])[]): CpuKernel<StrassenMutantStep> {
  const direct = cpu(op) as CpuKernel<MatmulStep>;
  return {
    ...direct,
    prepare(node: Node, ctx: PrepareContext) {
      const step = direct.prepare(node, ctx);
      const b = ctx.graph.constants.get(node.inputs[1]);
      const eligible = step.kernel === 'matmul' && b !== undefined && !step.g.transposeB && strassenEligible(step.g, 1) && step.g.batch * step.g.m >= 2;
      return eligible ? { ...step, rawB: b.data, algorithm: strassenAlgorithm(1) } : { ...step, rawB: null };
    },
    run(s, mem, start, end, scratch) {
      if (!s.rawB) return direct.run(s, mem, start, end, scratch);
      const rows = s.g.batch * s.g.m;
      for (let r0 = 0; r0 < rows; r0 += STRASSEN_PANEL_ROWS) {
        const sr = strassenRows(rows, r0, 1);
        const ok = sr > 0 && panel(s, mem, r0, sr, c);
        const from = ok ? r0 + sr : r0;
        const to = Math.min(rows, r0 + STRASSEN_PANEL_ROWS);
        if (from < to) direct.run(s, mem, from, to, scratch);
      }
    },
  };
}

const kernelsWith = (c: readonly (readonly number[])[]): MutantSpec => ({ kernels: { matmul: strassenKernel('matmul', c), fused_matmul: strassenKernel('fused_matmul', c) } });

/** The control: one level of Strassen as the cpu backend runs it. */
export const strassenCopy: MutantSpec = kernelsWith(STRASSEN_PRODUCTS.c);

/** Strassen whose C21 adds P4 instead of subtracting it. */
export const strassenSignFlipped: MutantSpec = kernelsWith(STRASSEN_PRODUCTS.c.map((row, q) => (q === 2 ? row.map((v, p) => (p === 3 ? -v : v)) : row)));
