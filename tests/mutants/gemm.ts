/**
 * A copy of the cpu backend's TypeScript GEMM (same packed-B layout, same 4x3 register tile,
 * k-blocks of at most 256) with switchable blocking bugs, each one a user's kernel could have.
 * Scalar and unoptimized: only the blocking and the bookkeeping matter here.
 */
import { jsGemm, type Gemm } from '@tessera/backend-cpu/kernels';

type GemmCall = Parameters<Gemm['run']>[0];

export interface GemmBugs {
  /** (a) An edge tile (N not a multiple of NR) stores instead of adding for every k-block. */
  readonly edgeTileForgetsK?: boolean;
  /** (b) The bias is read at the block-local column (jc dropped). */
  readonly biasBlockLocal?: boolean;
  /** (c) The bias / residual / activation epilogue runs after every k-block, not only the last. */
  readonly epilogueEveryK?: boolean;
  /** (d) Transposed-A packing drops the row-block offset. */
  readonly transAIgnoresRowBlock?: boolean;
}

const MR = 4;
const NR = 3;
const KC = 256;

/** Faulty GEMMs with the blocking of a 512-column, 60-row kernel (NC, MC). */
export function faultyGemm(bugs: GemmBugs, { MC = 60, NC = 512 } = {}): Gemm {
  const packedA = new Float32Array(MC * KC);
  const fr = Math.fround;

  function packA(call: GemmCall, i0: number, mc: number, p0: number, kc: number): void {
    const { a, aOff, lda, transA } = call;
    for (let ir = 0; ir < mc; ir += MR) {
      const panel = ir * kc;
      for (let r = 0; r < MR; r++) {
        const row = ir + r;
        for (let p = 0; p < kc; p++) {
          let v = 0;
          if (row < mc) {
            const i = (transA && bugs.transAIgnoresRowBlock ? 0 : i0) + row;
            v = transA ? a[aOff + (p0 + p) * lda + i] : a[aOff + i * lda + p0 + p];
          }
          packedA[panel + p * MR + r] = v;
        }
      }
    }
  }

  /**
   * One (up to) MR x NR tile, columns [n0, n0 + nr), for k-block [pc, pc + kc): the first k-block
   * stores, later ones add. B is read per column from its NR-wide panel (NC need not be a
   * multiple of NR).
   */
  function tile(call: GemmCall, mr: number, apBase: number, n0: number, pc: number, cRow: number, nr: number, kc: number, first: boolean): void {
    const { b, c, ldc, K } = call;
    for (let r = 0; r < mr; r++) {
      for (let j = 0; j < nr; j++) {
        const n = n0 + j;
        const bp = call.bOff + Math.floor(n / NR) * K * NR + pc * NR + (n % NR);
        let acc = 0;
        for (let p = 0; p < kc; p++) acc = fr(acc + fr(packedA[apBase + p * MR + r] * b[bp + p * NR]));
        const o = cRow + r * ldc + j;
        const store = first || (bugs.edgeTileForgetsK && nr < NR);
        c[o] = store ? acc : c[o] + acc;
      }
    }
  }

  function epilogue(call: GemmCall, ic: number, mc: number, jc: number, nc: number): void {
    const { c, cOff, ldc, bias, biasOff, residual, residualOff, activation } = call;
    const b0 = biasOff + (bugs.biasBlockLocal ? 0 : jc);
    for (let i = 0; i < mc; i++) {
      const o = cOff + (ic + i) * ldc + jc;
      const ro = residualOff + (ic + i) * ldc + jc;
      for (let j = 0; j < nc; j++) {
        let v = bias !== null ? fr(c[o + j] + bias[b0 + j]) : c[o + j];
        if (residual !== null) v = fr(v + residual[ro + j]);
        if (activation !== 'none' && v <= 0) v = 0;
        else if (activation === 'relu6' && v > 6) v = 6;
        c[o + j] = v;
      }
    }
  }

  function run(call: GemmCall): void {
    const { N, K, rowStart, rowEnd, cOff, ldc } = call;
    if (rowStart === rowEnd || N === 0) return;
    if (K === 0) return jsGemm.run(call);
    const kcMax = Math.ceil(K / Math.ceil(K / KC));
    for (let jc = 0; jc < N; jc += NC) {
      const nc = Math.min(NC, N - jc);
      for (let pc = 0; pc < K; pc += kcMax) {
        const kc = Math.min(kcMax, K - pc);
        for (let ic = rowStart; ic < rowEnd; ic += MC) {
          const mc = Math.min(MC, rowEnd - ic);
          packA(call, ic, mc, pc, kc);
          for (let jr = 0; jr < nc; jr += NR) {
            for (let ir = 0; ir < mc; ir += MR) tile(call, Math.min(MR, mc - ir), ir * kc, jc + jr, pc, cOff + (ic + ir) * ldc + jc + jr, Math.min(NR, nc - jr), kc, pc === 0);
          }
          const last = pc + kc === K;
          if ((last || bugs.epilogueEveryK) && (call.bias !== null || call.residual !== null || call.activation !== 'none')) epilogue(call, ic, mc, jc, nc);
        }
      }
    }
  }

  return { ...jsGemm, run };
}
