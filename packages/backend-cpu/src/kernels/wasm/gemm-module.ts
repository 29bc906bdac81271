/**
 * Generates the WebAssembly SIMD GEMM module (see ./gemm.ts for the contract).
 *
 * Exports
 *   gemm(N, K, a, lda, transA, b, c, ldc, bias, epi, rowStart, rowEnd, scratch)
 * where a, b, c, bias, scratch are byte addresses in the imported memory:
 *   - a: op(A)[i][k] = A[a + 4*(i*lda + k)] (transA: A[a + 4*(k*lda + i)]);
 *   - b: B packed in panels of NR columns (see packBWasmInto), all K rows per panel;
 *   - c: C[i][n] at c + 4*(i*ldc + n); rows [rowStart, rowEnd) are written;
 *   - bias: NR-aligned reads never pass column N-1 (edge tiles read it scalar);
 *   - epi: bit 1 = add bias[n], bit 2 = relu (compare + select: NaN stays NaN), bit 3 (with bit 2)
 *     = relu6: then lanes > 6 become 6 (compare + select again, so NaN payloads stay);
 *   - scratch: MC*KC floats for transposed A blocks, then MR*NR floats of edge tile.
 *
 * Blocking (Goto/BLIS order): jc (NC columns) > pc (k-blocks of equal depth
 * <= KC) > ic (MC rows) > jr (NR-column panel of B, kc*NR floats, stays in L1)
 * > ir (MR rows). A is read in place, row-major (a transposed A block is first
 * copied to row-major scratch), with one splat load per row and k.
 *
 * The micro-kernel keeps an mr x NR tile of C in mr*NR/4 f32x4 locals and
 * adds a*b products in k order, one rounding for the product and one for the
 * sum (no fused multiply-add in WebAssembly SIMD): every C element's value
 * depends only on K (its k-blocks), never on the rows computed alongside it,
 * so any split of [0, M) into row ranges is bit-identical.
 */
import { encodeModule, F32, Func, I32, V128, type Local, type MemoryImport } from './emit.js';

export interface GemmModuleConfig {
  /** Rows per register tile. */
  readonly MR: number;
  /** Columns per register tile and per packed-B panel (a multiple of 4). */
  readonly NR: number;
  /** Maximum k-block depth. */
  readonly KC: number;
  /** Rows per block (a multiple of MR). */
  readonly MC: number;
  /** Columns per block (a multiple of NR). */
  readonly NC: number;
  /** k-loop unrolling in the micro-kernel. */
  readonly UNROLL: number;
  /** Relaxed SIMD: each step is one f32x4.relaxed_madd (a fused multiply-add where the hardware has one). */
  readonly relaxed?: boolean;
}

export const EPI_BIAS = 2;
export const EPI_RELU = 4;
export const EPI_RELU6 = 8;
/** Micro-kernel flag: add the tile to C instead of storing it (k-blocks after the first). */
const ACCUMULATE = 1;

/**
 * A micro-kernel's parameters and locals for m rows of NV vectors, made once. Property order is
 * declaration order, and so the local indices in the emitted bytes.
 */
function kernelLocals(f: Func, m: number, NV: number) {
  const [kc, a, lda4, b, c, ldc4, nr, flags, bias, tile] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const rowsOf = (first: Local): Local[] => [first, ...Array.from({ length: m - 1 }, () => f.local(I32))];
  return {
    kc, a, lda4, b, c, ldc4, nr, flags, bias, tile,
    acc: Array.from({ length: m }, () => Array.from({ length: NV }, () => f.local(V128))),
    bv: Array.from({ length: NV }, () => f.local(V128)),
    av: f.local(V128),
    zero: f.local(V128),
    six: f.local(V128),
    ar: rowsOf(a), // A row addresses
    p: f.local(I32), // k steps left
    cr: rowsOf(c), // C row addresses
    j: f.local(I32),
    x: f.local(I32),
    xv: f.local(F32),
  };
}
type KernelLocals = ReturnType<typeof kernelLocals>;

/** acc += a*b over the kc steps (UNROLL at a time, then one at a time), advancing a and b. */
function emitKLoop(f: Func, l: KernelLocals, cfg: GemmModuleConfig): void {
  const { NR, UNROLL } = cfg;
  const { b, p, ar, acc, bv, av } = l;
  // One k step at byte offsets (u*4 into the A rows, u*NR*4 into the B panel).
  const step = (u: number): void => {
    for (let v = 0; v < bv.length; v++) f.get(b).v128Load((u * NR + 4 * v) * 4).set(bv[v]);
    for (let r = 0; r < ar.length; r++) {
      f.get(ar[r]).v128Load32Splat(4 * u).set(av);
      for (let v = 0; v < bv.length; v++) {
        if (cfg.relaxed) f.get(av).get(bv[v]).get(acc[r][v]).f32x4RelaxedMadd().set(acc[r][v]);
        else f.get(acc[r][v]).get(av).get(bv[v]).f32x4Mul().f32x4Add().set(acc[r][v]);
      }
    }
  };
  const advance = (u: number): void => {
    f.inc(b, u * NR * 4);
    for (const a of ar) f.inc(a, 4 * u);
    f.inc(p, -u);
  };
  // Locals start at zero, so the accumulators need no initialization.
  f.get(l.kc).set(p);
  if (UNROLL > 1) {
    f.whileNot(() => f.get(p).i32(UNROLL).ltS(), () => {
      for (let u = 0; u < UNROLL; u++) step(u);
      advance(UNROLL);
    });
  }
  f.whileNot(() => f.get(p).eqz(), () => {
    step(0);
    advance(1);
  });
}

/** Epilogue on the whole tile in registers (C lanes past nr read only for full tiles). */
function emitFullTile(f: Func, l: KernelLocals): void {
  const { flags, acc, bv, cr, zero } = l;
  const eachAcc = (emit: (a: Local, r: number, v: number) => void): void => {
    for (let r = 0; r < acc.length; r++) {
      for (let v = 0; v < bv.length; v++) emit(acc[r][v], r, v);
    }
  };
  f.get(flags).i32(ACCUMULATE).and().if(() => {
    eachAcc((a, r, v) => void f.get(a).get(cr[r]).v128Load(16 * v).f32x4Add().set(a));
  });
  f.get(flags).i32(EPI_BIAS).and().if(() => {
    for (let v = 0; v < bv.length; v++) f.get(l.bias).v128Load(16 * v).set(bv[v]);
    eachAcc((a, _r, v) => void f.get(a).get(bv[v]).f32x4Add().set(a));
  });
  f.get(flags).i32(EPI_RELU).and().if(() => {
    // bitselect(zero, acc, acc <= 0): lanes <= 0 (-0 included) become +0; NaN (compare false) stays.
    eachAcc((a) => void f.get(zero).get(a).get(a).get(zero).f32x4Le().v128Bitselect().set(a));
  });
  f.get(flags).i32(EPI_RELU6).and().if(() => {
    // bitselect(six, acc, acc > 6): lanes above 6 become 6; NaN (compare false) stays.
    f.f32(6).f32x4Splat().set(l.six);
    eachAcc((a) => void f.get(l.six).get(a).get(a).get(l.six).f32x4Gt().v128Bitselect().set(a));
  });
  eachAcc((a, r, v) => void f.get(cr[r]).get(a).v128Store(16 * v));
}

/**
 * Column edge: spill the tile, then a scalar epilogue on the nr valid columns (same float32
 * operations per element as the vector path).
 */
function emitEdgeTile(f: Func, l: KernelLocals, NR: number): void {
  const { flags, tile, cr, j, x, xv } = l;
  for (let r = 0; r < cr.length; r++) {
    for (let v = 0; v < l.bv.length; v++) f.get(tile).get(l.acc[r][v]).v128Store((r * NR + 4 * v) * 4);
  }
  for (let r = 0; r < cr.length; r++) {
    f.i32(0).set(j);
    f.whileNot(() => f.get(j).get(l.nr).geS(), () => {
      f.get(j).i32(2).shl().set(x); // byte offset of column j
      f.get(tile).get(x).add().f32Load(r * NR * 4).set(xv);
      f.get(flags).i32(ACCUMULATE).and().if(() => {
        f.get(cr[r]).get(x).add().f32Load().get(xv).f32Add().set(xv);
      });
      f.get(flags).i32(EPI_BIAS).and().if(() => {
        f.get(xv).get(l.bias).get(x).add().f32Load().f32Add().set(xv);
      });
      f.get(flags).i32(EPI_RELU).and().if(() => {
        f.f32(0).get(xv).get(xv).f32(0).f32Le().select().set(xv);
      });
      f.get(flags).i32(EPI_RELU6).and().if(() => {
        f.f32(6).get(xv).get(xv).f32(6).f32Gt().select().set(xv);
      });
      f.get(cr[r]).get(x).add().get(xv).f32Store();
      f.inc(j, 1);
    });
  }
}

/** Micro-kernel for m rows: params (kc, a, lda4, b, c, ldc4, nr, flags, bias, tile). */
function microKernel(cfg: GemmModuleConfig, m: number): Func {
  const f = new Func(`kernel${m}`, Array(10).fill(I32), [], false);
  const l = kernelLocals(f, m, cfg.NR / 4);
  const { ar, cr } = l;
  for (let r = 1; r < m; r++) f.get(ar[r - 1]).get(l.lda4).add().set(ar[r]);
  for (let r = 1; r < m; r++) f.get(cr[r - 1]).get(l.ldc4).add().set(cr[r]);
  emitKLoop(f, l, cfg);
  f.get(l.nr).i32(cfg.NR).eq().if(() => emitFullTile(f, l), () => emitEdgeTile(f, l, cfg.NR));
  return f;
}

/** Copies rows [i0, i0+mc) x k [p0, p0+kc) of a transposed A (stored K x M) to row-major dst (mc x kc). */
function packTransposedA(): Func {
  const f = new Func('packTransposedA', Array(7).fill(I32), [], false);
  const [a, lda, i0, mc, p0, kc, dst] = [0, 1, 2, 3, 4, 5, 6];
  const k = f.local(I32);
  const i = f.local(I32);
  const src = f.local(I32);
  const d = f.local(I32);
  const kc4 = f.local(I32);
  f.get(kc).i32(2).shl().set(kc4);
  f.i32(0).set(k);
  f.whileNot(() => f.get(k).get(kc).geS(), () => {
    // src = a + 4*((p0+k)*lda + i0); d = dst + 4*k; walk i with strides 4 / 4*kc.
    f.get(p0).get(k).add().get(lda).mul().get(i0).add().i32(2).shl().get(a).add().set(src);
    f.get(k).i32(2).shl().get(dst).add().set(d);
    f.i32(0).set(i);
    f.whileNot(() => f.get(i).get(mc).geS(), () => {
      f.get(d).get(src).f32Load().f32Store();
      f.inc(src, 4).incBy(d, kc4).inc(i, 1);
    });
    f.inc(k, 1);
  });
  return f;
}

/** gemm(N, K, a, lda, transA, b, c, ldc, bias, epi, rowStart, rowEnd, scratch): see the file comment. */
function driver(cfg: GemmModuleConfig, kernelIndex: (m: number) => number, packIndex: number): Func {
  const { MR, NR, KC, MC, NC } = cfg;
  const f = new Func('gemm', Array(13).fill(I32), [], true);
  const [N, K, a, lda, transA, b, c, ldc, bias, epi, rowStart, rowEnd, scratch] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const L = () => f.local(I32);
  const kcMax = L(), jc = L(), nc = L(), pc = L(), kc = L(), flags = L(), ic = L(), mc = L();
  const ab = L(), al4 = L(), jr = L(), n0 = L(), nr = L(), bp = L(), cp = L(), ap = L(), ir = L(), mr = L();
  const ldc4 = L(), tile = L(), bb = L();
  const g = (l: Local) => () => void f.get(l);
  const k = (v: number) => () => void f.i32(v);

  f.get(ldc).i32(2).shl().set(ldc4);
  f.get(scratch).i32(MC * KC * 4).add().set(tile);
  // Equal k-blocks of at most KC: kcMax = ceil(K / ceil(K / KC)) (depends on K only).
  f.get(K).get(K).i32(KC - 1).add().i32(KC).divU().tee(kcMax).add().i32(1).sub().get(kcMax).divU().set(kcMax);

  f.i32(0).set(jc);
  f.whileNot(() => f.get(jc).get(N).geS(), () => {
    f.minS(k(NC), () => void f.get(N).get(jc).sub()).set(nc);
    f.i32(0).set(pc);
    f.whileNot(() => f.get(pc).get(K).geS(), () => {
      f.minS(g(kcMax), () => void f.get(K).get(pc).sub()).set(kc);
      // flags: accumulate after the first k-block; epilogue on the last one.
      f.get(pc).i32(0).ne().get(epi).i32(0).get(pc).get(kc).add().get(K).eq().select().or().set(flags);
      f.get(rowStart).set(ic);
      f.whileNot(() => f.get(ic).get(rowEnd).geS(), () => {
        f.minS(k(MC), () => void f.get(rowEnd).get(ic).sub()).set(mc);
        f.get(transA).if(() => {
          f.get(a).get(lda).get(ic).get(mc).get(pc).get(kc).get(scratch).call(packIndex);
          f.get(scratch).set(ab);
          f.get(kc).i32(2).shl().set(al4);
        }, () => {
          f.get(ic).get(lda).mul().get(pc).add().i32(2).shl().get(a).add().set(ab);
          f.get(lda).i32(2).shl().set(al4);
        });
        f.i32(0).set(jr);
        f.whileNot(() => f.get(jr).get(nc).geS(), () => {
          f.get(jc).get(jr).add().set(n0);
          f.minS(k(NR), () => void f.get(nc).get(jr).sub()).set(nr);
          // Panel n0/NR starts at n0*K floats; its k-block pc at + pc*NR.
          f.get(n0).get(K).mul().get(pc).i32(NR).mul().add().i32(2).shl().get(b).add().set(bp);
          f.get(ic).get(ldc).mul().get(n0).add().i32(2).shl().get(c).add().set(cp);
          f.get(n0).i32(2).shl().get(bias).add().set(bb);
          f.get(ab).set(ap);
          f.i32(0).set(ir);
          f.whileNot(() => f.get(ir).get(mc).geS(), () => {
            f.minS(k(MR), () => void f.get(mc).get(ir).sub()).set(mr);
            const callKernel = (m: number) => {
              f.get(kc).get(ap).get(al4).get(bp).get(cp).get(ldc4).get(nr).get(flags).get(bb).get(tile).call(kernelIndex(m));
            };
            f.get(mr).i32(MR).eq().if(() => callKernel(MR), () => {
              for (let m = 1; m < MR; m++) f.get(mr).i32(m).eq().if(() => callKernel(m));
            });
            f.get(ap).get(al4).i32(MR).mul().add().set(ap);
            f.get(cp).get(ldc4).i32(MR).mul().add().set(cp);
            f.inc(ir, MR);
          });
          f.inc(jr, NR);
        });
        f.inc(ic, MC);
      });
      f.incBy(pc, kc);
    });
    f.inc(jc, NC);
  });
  return f;
}

/** Copies n bytes (a multiple of 4) from src to dst, 16-byte vector moves then 4-byte ones, advancing all three locals. */
function emitCopy(f: Func, dst: Local, src: Local, n: Local): void {
  f.whileNot(() => f.get(n).i32(16).ltS(), () => {
    f.get(dst).get(src).v128Load().v128Store();
    f.inc(dst, 16).inc(src, 16).inc(n, -16);
  });
  f.whileNot(() => f.get(n).i32(4).ltS(), () => {
    f.get(dst).get(src).f32Load().f32Store();
    f.inc(dst, 4).inc(src, 4).inc(n, -4);
  });
}

/**
 * copyOrZero(dst, src, bytes): copies `bytes` (a multiple of 4) from src to dst, or writes +0
 * floats when src is -1. 16-byte vector moves, then 4-byte ones.
 */
function copyOrZero(): Func {
  const f = new Func('copyOrZero', [I32, I32, I32], [], false);
  const [dst, src, n] = [0, 1, 2];
  f.get(src).i32(-1).eq().if(() => {
    f.whileNot(() => f.get(n).i32(16).ltS(), () => {
      f.get(dst).v128Zero().v128Store();
      f.inc(dst, 16).inc(n, -16);
    });
    f.whileNot(() => f.get(n).i32(4).ltS(), () => {
      f.get(dst).f32(0).f32Store();
      f.inc(dst, 4).inc(n, -4);
    });
  }, () => emitCopy(f, dst, src, n));
  return f;
}

/**
 * im2col(x, dst, r0, r1, inH, inW, inC, kH, kW, strideH, strideW, dilationH, dilationW, padTop,
 * padLeft, outH, outW): the receptive fields of output pixels [r0, r1) as rows of kH*kW*inC
 * floats (order kh, kw, c) at byte address dst, taps in the padding written as +0; x is the byte
 * address of the NHWC input. The same values as the TypeScript `im2col` (a copy), without
 * allocating views and without the relaxed-atomic copies typed arrays make on shared memory.
 */
function im2colFunc(copyIndex: number): Func {
  const f = new Func('im2col', Array(17).fill(I32), [], true);
  const [x, dst, r0, r1, inH, inW, inC, kH, kW, strideH, strideW, dilH, dilW, padTop, padLeft, outH, outW] =
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
  const L = () => f.local(I32);
  const ohw = L(), n = L(), oh = L(), ow = L(), r = L(), o = L(), inC4 = L(), rowLen4 = L();
  const ih = L(), iw = L(), iw0 = L(), kh = L(), kw = L(), rowBase = L(), src = L(), left = L(), rowJump4 = L();
  f.get(outH).get(outW).mul().set(ohw);
  f.get(r0).get(ohw).divU().set(n);
  f.get(r0).get(n).get(ohw).mul().sub().get(outW).divU().set(oh);
  f.get(r0).get(n).get(ohw).mul().sub().get(oh).get(outW).mul().sub().set(ow);
  f.get(inC).i32(2).shl().set(inC4);
  f.get(kW).get(inC4).mul().set(rowLen4);
  // From one kernel row's first tap to the next row's: dilH input rows.
  f.get(inW).get(inC4).mul().get(dilH).mul().set(rowJump4);
  f.get(dst).set(o);
  f.get(r0).set(r);
  f.whileNot(() => f.get(r).get(r1).geS(), () => {
    f.get(oh).get(strideH).mul().get(padTop).sub().set(ih);
    f.get(ow).get(strideW).mul().get(padLeft).sub().set(iw0);
    // A window wholly inside the input with contiguous kernel rows (most of them): each row
    // copied inline (a call per row cost more than the copy for few channels: the seed CNN's
    // 3-float rows).
    const rowByRow = (): void => {
      f.get(n).get(inH).mul().get(ih).add().get(inW).mul().get(iw0).add().get(inC4).mul().get(x).add().set(rowBase);
      f.i32(0).set(kh);
      f.whileNot(() => f.get(kh).get(kH).geS(), () => {
        f.get(rowBase).set(src);
        f.get(rowLen4).set(left);
        emitCopy(f, o, src, left);
        f.incBy(rowBase, rowJump4).inc(kh, 1);
      });
    };
    // Any other window: row by row, a row in the padding zeroed, a row partly outside tap by tap.
    const tapByTap = (): void => {
      f.i32(0).set(kh);
      f.whileNot(() => f.get(kh).get(kH).geS(), () => {
        f.get(ih).i32(0).ltS().get(ih).get(inH).geS().or().if(() => {
          f.get(o).i32(-1).get(rowLen4).call(copyIndex);
          f.incBy(o, rowLen4);
        }, () => {
          // rowBase = x + ((n*inH + ih)*inW)*inC*4
          f.get(n).get(inH).mul().get(ih).add().get(inW).mul().get(inC4).mul().get(x).add().set(rowBase);
          // Whole kernel row inside the input and contiguous: one copy.
          f.get(dilW).i32(1).eq().get(iw0).i32(0).geS().and().get(iw0).get(kW).add().get(inW).gtS().eqz().and().if(() => {
            f.get(o).get(iw0).get(inC4).mul().get(rowBase).add().get(rowLen4).call(copyIndex);
            f.incBy(o, rowLen4);
          }, () => {
            f.get(iw0).set(iw);
            f.i32(0).set(kw);
            f.whileNot(() => f.get(kw).get(kW).geS(), () => {
              // select(-1, address, out of range): the tap is padding (zeros) or a copy.
              f.get(o).i32(-1).get(iw).get(inC4).mul().get(rowBase).add().get(iw).i32(0).ltS().get(iw).get(inW).geS().or().select();
              f.get(inC4).call(copyIndex);
              f.incBy(o, inC4).incBy(iw, dilW).inc(kw, 1);
            });
          });
        });
        f.incBy(ih, dilH).inc(kh, 1);
      });
    };
    f.get(dilW).i32(1).eq().get(ih).i32(0).geS().and().get(iw0).i32(0).geS().and();
    f.get(ih).get(kH).i32(1).sub().get(dilH).mul().add().get(inH).ltS().and();
    f.get(iw0).get(kW).add().get(inW).gtS().eqz().and();
    f.if(rowByRow, tapByTap);
    f.inc(ow, 1);
    f.get(ow).get(outW).eq().if(() => {
      f.i32(0).set(ow).inc(oh, 1);
      f.get(oh).get(outH).eq().if(() => void f.i32(0).set(oh).inc(n, 1));
    });
    f.inc(r, 1);
  });
  return f;
}

/** The module's bytes for a configuration and a memory import. */
export function buildGemmModule(cfg: GemmModuleConfig, memory: MemoryImport): Uint8Array<ArrayBuffer> {
  const { MR, NR, MC, NC } = cfg;
  if (NR % 4 !== 0 || MC % MR !== 0 || NC % NR !== 0) throw new Error('gemm module: bad tile configuration');
  const funcs: Func[] = [];
  for (let m = 1; m <= MR; m++) funcs.push(microKernel(cfg, m));
  funcs.push(packTransposedA());
  funcs.push(driver(cfg, (m) => m - 1, MR));
  funcs.push(copyOrZero());
  funcs.push(im2colFunc(MR + 2));
  return encodeModule(memory, funcs);
}

/** A tiny module using v128 (with `relaxed`, f32x4.relaxed_madd): validates only where the runtime has it. */
export function simdProbe(relaxed = false): Uint8Array<ArrayBuffer> {
  const f = new Func('probe', [], [V128], true);
  f.v128Zero().f32(1).f32x4Splat().f32x4Add();
  if (relaxed) f.v128Zero().v128Zero().f32x4RelaxedMadd();
  return encodeModule({ module: 'env', name: 'memory', minPages: 0 }, [f]);
}
