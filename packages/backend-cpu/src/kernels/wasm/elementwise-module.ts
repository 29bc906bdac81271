/**
 * Generates the WebAssembly SIMD (f32x4) module of the memory-bound kernels: relu, relu6,
 * bias_add, bias_add + relu, batch_norm and max pooling, over byte addresses in the imported memory (the same memory
 * the GEMM uses). See ./elementwise.ts for the JavaScript side and the contract.
 *
 * Exports (all parameters i32; addresses are byte addresses, any multiple of 4: vector loads
 * and stores need no 16-byte alignment, the alignment in the memarg is only a hint):
 *   relu(x, y, n)
 *       y[i] = x[i] <= 0 ? +0 : x[i] for i in [0, n)         (NaN stays, -0 becomes +0)
 *   relu6(x, y, n)
 *       y[i] = x[i] <= 0 ? +0 : x[i] > 6 ? 6 : x[i]
 *   batch_norm(x, y, a, mean, offset, C, ch, n)
 *       y[i] = (x[i] - mean[c]) * a[c] + offset[c], c = (ch + i) mod C, each operation rounded to float32
 *   bias_add(x, y, bias, C, ch, n) / bias_add_relu(...)
 *       y[i] = x[i] + bias[(ch + i) mod C] (then relu) for i in [0, n), 0 <= ch < C
 *   maxpool(x, y, C, inH, inW, kH, kW, sH, sW, dH, dW, padT, padL, outH, outW, n, oh, ow, rows)
 *       `rows` output pixels starting at pixel (n, oh, ow), written from y on (C floats each);
 *       x is the address of input element 0.
 *   strassen_split(...), strassen_merge(...)
 *       the additions of one level of a Strassen matmul (../strassen.ts), over strided blocks.
 *
 * Semantics are those of the JS kernels (../elementwise.ts, ../maxpool.ts), bit for bit:
 *   - relu: compare + bitselect (x <= 0 -> +0, so relu(-0) = +0 as docs/SEMANTICS.md says), as
 *     the GEMM epilogue; not f32x4.max (also +0 for -0), which may change a NaN's payload.
 *   - relu6: relu's compare + bitselect after a second one for x > 6.
 *   - batch_norm: f32 sub, mul, add; the JS kernel rounds each (Math.fround) to the same values.
 *   - bias_add: one f32.add. The JS kernel adds in double and rounds once to float32 on the
 *     store, which is the same value (double rounding of a sum of two floats is innocuous:
 *     53 >= 2*24 + 2); only NaN payloads may differ.
 *   - maxpool: acc = (v > acc || v != v) ? v : acc over the in-bounds taps in window order,
 *     starting from -Infinity, as compare + bitselect. So a NaN tap wins and stays (the last NaN
 *     tap's bits are the result), padded cells are skipped (never win), and of equal values the
 *     first in window order is kept: for a -0 / +0 tie the result is the sign of the first tap
 *     (f32x4.max would give NaN too but always +0 for ties, and pmax would drop NaNs).
 *
 * Channel counts not a multiple of 4 and any start / end run through scalar tails; C >= 16
 * pixels use blocks of 4 vectors per tap.
 */
import { encodeModule, F32, Func, I32, V128, type Local, type MemoryImport } from './emit.js';

// Opcodes the shared emitter does not name (appended raw to a function's code).
const F32_NE = 0x5c;
const F32_GT = 0x5e;
const I32_OR = 0x72;
const SIMD = 0xfd;
const F32X4_NE = 0x42;
const F32X4_GT = 0x44;
const V128_OR = 0x50;

function raw(f: Func, ...bytes: number[]): void {
  f.code.push(...bytes);
}

/** relu(x, y, n), or relu6(x, y, n) with `six`. */
function clampFunc(six: boolean): Func {
  const f = new Func(six ? 'relu6' : 'relu', [I32, I32, I32], [], true);
  const [x, y, n] = [0, 1, 2];
  const zero = f.local(V128);
  const top = f.local(V128);
  const v = Array.from({ length: 4 }, () => f.local(V128));
  const s = f.local(F32);
  if (six) f.f32(6).f32x4Splat().set(top);
  const vclamp = (l: Local): void => {
    // bitselect(zero, six ? bitselect(top, v, v > 6) : v, v <= 0)
    f.get(zero);
    if (six) f.get(top).get(l).get(l).get(top).f32x4Gt().v128Bitselect();
    else f.get(l);
    f.get(l).get(zero).f32x4Le().v128Bitselect();
  };
  // 16 floats per iteration, then 4, then scalar.
  f.whileNot(() => f.get(n).i32(16).ltS(), () => {
    for (let k = 0; k < 4; k++) f.get(x).v128Load(16 * k).set(v[k]);
    for (let k = 0; k < 4; k++) {
      f.get(y);
      vclamp(v[k]);
      f.v128Store(16 * k);
    }
    f.inc(x, 64).inc(y, 64).inc(n, -16);
  });
  f.whileNot(() => f.get(n).i32(4).ltS(), () => {
    f.get(x).v128Load().set(v[0]);
    f.get(y);
    vclamp(v[0]);
    f.v128Store();
    f.inc(x, 16).inc(y, 16).inc(n, -4);
  });
  f.whileNot(() => f.get(n).eqz(), () => {
    f.get(x).f32Load().set(s);
    // select(+0, six ? select(6, s, s > 6) : s, s <= 0)
    f.get(y).f32(0);
    if (six) f.f32(6).get(s).get(s).f32(6).f32Gt().select();
    else f.get(s);
    f.get(s).f32(0).f32Le().select().f32Store();
    f.inc(x, 4).inc(y, 4).inc(n, -1);
  });
  return f;
}

/**
 * The loop of a per-channel kernel over n elements of x from channel ch of C into y: runs of
 * channels within a row ([ch, min(C, ch + n))), 4 lanes at a time, then one. `operands` pairs each
 * per-channel parameter (an address) with a local that points at its element of the current
 * channel; `value(lanes)` pushes the result for x's next 4 (f32x4) or 1 (f32) elements.
 */
function emitPerChannel(f: Func, p: { x: Local; y: Local; C: Local; ch: Local; n: Local }, operands: readonly (readonly [Local, Local])[], value: (lanes: 4 | 1) => void): void {
  const { x, y, C, ch, n } = p;
  const seg = f.local(I32);
  const rest = f.local(I32);
  f.whileNot(() => f.get(n).eqz(), () => {
    f.minS(() => f.get(C).get(ch).sub(), () => f.get(n)).set(seg);
    f.get(n).get(seg).sub().set(rest);
    for (const [base, ptr] of operands) f.get(base).get(ch).i32(2).shl().add().set(ptr);
    for (const lanes of [4, 1] as const) {
      f.whileNot(() => (lanes === 4 ? f.get(seg).i32(4).ltS() : f.get(seg).eqz()), () => {
        f.get(y);
        value(lanes);
        if (lanes === 4) f.v128Store();
        else f.f32Store();
        f.inc(x, 4 * lanes).inc(y, 4 * lanes);
        for (const [, ptr] of operands) f.inc(ptr, 4 * lanes);
        f.inc(seg, -lanes);
      });
    }
    f.get(rest).set(n);
    f.i32(0).set(ch);
  });
}

/** bias_add(x, y, bias, C, ch, n), optionally with relu. */
function biasAddFunc(relu: boolean): Func {
  const f = new Func(relu ? 'bias_add_relu' : 'bias_add', [I32, I32, I32, I32, I32, I32], [], true);
  const [x, y, bias, C, ch, n] = [0, 1, 2, 3, 4, 5];
  const zero = f.local(V128);
  const v = f.local(V128);
  const s = f.local(F32);
  const b = f.local(I32);
  emitPerChannel(f, { x, y, C, ch, n }, [[bias, b]], (lanes) => {
    if (lanes === 4) {
      f.get(x).v128Load().get(b).v128Load().f32x4Add();
      // bitselect(zero, v, v <= 0)
      if (relu) f.set(v).get(zero).get(v).get(v).get(zero).f32x4Le().v128Bitselect();
    } else {
      f.get(x).f32Load().get(b).f32Load().f32Add();
      // select(+0, s, s <= 0)
      if (relu) f.set(s).f32(0).get(s).get(s).f32(0).f32Le().select();
    }
  });
  return f;
}

/** batch_norm(x, y, a, mean, offset, C, ch, n): y[i] = (x[i] - mean[c]) * a[c] + offset[c], c = (ch + i) mod C. */
function batchNormFunc(): Func {
  const f = new Func('batch_norm', [I32, I32, I32, I32, I32, I32, I32, I32], [], true);
  const [x, y, a, mean, offset, C, ch, n] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [pa, pm, po] = [f.local(I32), f.local(I32), f.local(I32)];
  emitPerChannel(f, { x, y, C, ch, n }, [[a, pa], [mean, pm], [offset, po]], (lanes) => {
    if (lanes === 4) f.get(x).v128Load().get(pm).v128Load().f32x4Sub().get(pa).v128Load().f32x4Mul().get(po).v128Load().f32x4Add();
    else f.get(x).f32Load().get(pm).f32Load().f32Sub().get(pa).f32Load().f32Mul().get(po).f32Load().f32Add();
  });
  return f;
}

/**
 * maxpool's parameters and locals, made once. Property order is declaration order, and so the
 * local indices in the emitted bytes.
 */
function poolLocals(f: Func) {
  const [x, y, C, inH, inW, kH, kW, sH, sW, dH, dW, padT, padL, outH, outW, n, oh, ow, rows] =
    Array.from({ length: 19 }, (_, i) => i);
  const i32 = (): Local => f.local(I32);
  return {
    x, y, C, inH, inW, kH, kW, sH, sW, dH, dW, padT, padL, outH, outW, n, oh, ow, rows,
    k: i32(), // tap counter
    ih: i32(),
    iw: i32(),
    nh: i32(), // in-bounds rows of the window
    nw: i32(), // in-bounds columns of the window
    base: i32(), // address of the first in-bounds tap, channel 0
    rowStep: i32(), // bytes between window rows (dH input rows)
    colStep: i32(), // bytes between window columns (dW input pixels)
    c: i32(), // channel
    rp: i32(),
    p: i32(),
    hh: i32(),
    ww: i32(),
    negInf: f.local(V128),
    acc: Array.from({ length: 4 }, () => f.local(V128)),
    v: Array.from({ length: 4 }, () => f.local(V128)),
    sacc: f.local(F32),
    sv: f.local(F32),
  };
}
type PoolLocals = ReturnType<typeof poolLocals>;

/** One window axis, rows or columns: the locals and parameters emitAxisBounds reads and sets. */
interface PoolAxis {
  readonly out: Local; // output coordinate
  readonly stride: Local;
  readonly pad: Local;
  readonly taps: Local; // kernel extent
  readonly dil: Local;
  readonly size: Local; // input extent
  readonly first: Local; // out: first in-bounds input coordinate
  readonly count: Local; // out: in-bounds taps from there
  readonly scan: Local; // scratch
}

/** Sets `first` and `count` of the in-bounds taps along one axis (k is the tap counter). */
function emitAxisBounds(f: Func, k: Local, a: PoolAxis): void {
  // Skip the taps before the input (padding never wins).
  f.get(a.out).get(a.stride).mul().get(a.pad).sub().set(a.first);
  f.i32(0).set(k);
  f.whileNot(() => f.get(k).get(a.taps).geS().get(a.first).i32(0).geS().or(), () => {
    f.inc(k, 1).incBy(a.first, a.dil);
  });
  // Count the taps inside the input from there.
  f.i32(0).set(a.count);
  f.get(a.first).set(a.scan);
  f.whileNot(() => f.get(k).get(a.taps).geS().get(a.scan).get(a.size).geS().or(), () => {
    f.inc(k, 1).incBy(a.scan, a.dil).inc(a.count, 1);
  });
}

/** The in-bounds part of the current pixel's window: nh x nw taps from address base. */
function emitWindowBounds(f: Func, l: PoolLocals): void {
  const { x, n, C, inH, inW, ih, iw } = l;
  emitAxisBounds(f, l.k, {
    out: l.oh, stride: l.sH, pad: l.padT, taps: l.kH, dil: l.dH, size: inH, first: ih, count: l.nh, scan: l.hh,
  });
  emitAxisBounds(f, l.k, {
    out: l.ow, stride: l.sW, pad: l.padL, taps: l.kW, dil: l.dW, size: inW, first: iw, count: l.nw, scan: l.ww,
  });
  // base = x + 4 * ((n*inH + ih)*inW + iw) * C (only dereferenced when nh, nw > 0).
  f.get(x).get(n).get(inH).mul().get(ih).add().get(inW).mul().get(iw).add().get(C).mul().i32(2).shl().add().set(l.base);
}

/** The tap loops of the channel block at c: `load()` at each in-bounds tap address p. */
function emitTaps(f: Func, l: PoolLocals, load: () => void): void {
  const { rp, p, hh, ww } = l;
  f.get(l.base).get(l.c).i32(2).shl().add().set(rp);
  f.get(l.nh).set(hh);
  f.whileNot(() => f.get(hh).eqz(), () => {
    f.get(rp).set(p);
    f.get(l.nw).set(ww);
    f.whileNot(() => f.get(ww).eqz(), () => {
      load();
      f.incBy(p, l.colStep).inc(ww, -1);
    });
    f.incBy(rp, l.rowStep).inc(hh, -1);
  });
}

/** a = (v > a || v != v) ? v : a, lane-wise. */
function emitVectorMax(f: Func, a: Local, v: Local): void {
  f.get(v).get(a);
  f.get(v).get(a);
  raw(f, SIMD, F32X4_GT);
  f.get(v).get(v);
  raw(f, SIMD, F32X4_NE);
  raw(f, SIMD, V128_OR);
  f.v128Bitselect().set(a);
}

/** Channel blocks of `nv` vectors while c + 4*nv <= C. */
function emitChannelBlocks(f: Func, l: PoolLocals, nv: number): void {
  const { y, c, p, acc, v } = l;
  f.whileNot(() => f.get(c).i32(4 * nv).add().get(l.C).gtS(), () => {
    for (let j = 0; j < nv; j++) f.get(l.negInf).set(acc[j]);
    emitTaps(f, l, () => {
      for (let j = 0; j < nv; j++) f.get(p).v128Load(16 * j).set(v[j]);
      for (let j = 0; j < nv; j++) emitVectorMax(f, acc[j], v[j]);
    });
    for (let j = 0; j < nv; j++) f.get(y).get(c).i32(2).shl().add().get(acc[j]).v128Store(16 * j);
    f.inc(c, 4 * nv);
  });
}

/** The channels left after the vector blocks, one at a time (same compare as emitVectorMax). */
function emitChannelTail(f: Func, l: PoolLocals): void {
  const { y, c, sacc, sv } = l;
  f.whileNot(() => f.get(c).get(l.C).geS(), () => {
    f.f32(-Infinity).set(sacc);
    emitTaps(f, l, () => {
      f.get(l.p).f32Load().set(sv);
      f.get(sv).get(sacc);
      f.get(sv).get(sacc);
      raw(f, F32_GT);
      f.get(sv).get(sv);
      raw(f, F32_NE, I32_OR);
      f.select().set(sacc);
    });
    f.get(y).get(c).i32(2).shl().add().get(sacc).f32Store();
    f.inc(c, 1);
  });
}

/** Moves y and (n, oh, ow) on by one output pixel: ow, then oh, then n. */
function emitNextPixel(f: Func, l: PoolLocals): void {
  const { y, n, oh, ow } = l;
  f.get(y).get(l.C).i32(2).shl().add().set(y);
  f.inc(l.rows, -1);
  f.inc(ow, 1);
  f.get(ow).get(l.outW).eq().if(() => {
    f.i32(0).set(ow);
    f.inc(oh, 1);
    f.get(oh).get(l.outH).eq().if(() => {
      f.i32(0).set(oh);
      f.inc(n, 1);
    });
  });
}

/** maxpool(x, y, C, inH, inW, kH, kW, sH, sW, dH, dW, padT, padL, outH, outW, n, oh, ow, rows). */
function maxpoolFunc(): Func {
  const f = new Func('maxpool', Array(19).fill(I32), [], true);
  const l = poolLocals(f);
  const { C, dH, dW } = l;
  f.f32(-Infinity).f32x4Splat().set(l.negInf);
  f.get(dH).get(l.inW).mul().get(C).mul().i32(2).shl().set(l.rowStep);
  f.get(dW).get(C).mul().i32(2).shl().set(l.colStep);
  f.whileNot(() => f.get(l.rows).eqz(), () => {
    emitWindowBounds(f, l);
    f.i32(0).set(l.c);
    emitChannelBlocks(f, l, 4);
    emitChannelBlocks(f, l, 1);
    emitChannelTail(f, l);
    emitNextPixel(f, l);
  });
  return f;
}

/**
 * A loop over `rows` rows of `cols` bytes (a multiple of 16) of several strided matrices: each
 * pointer param advances by its row stride after a row; `body(j)` handles the vector at byte j of
 * the row (pointers of the current row in their params).
 */
function rowsOfVectors(f: Func, rows: Local, cols: Local, strides: readonly (readonly [readonly Local[], Local])[], body: (j: Local) => void): void {
  const j = f.local(I32);
  f.whileNot(() => f.get(rows).eqz(), () => {
    f.i32(0).set(j);
    f.whileNot(() => f.get(j).get(cols).geS(), () => {
      body(j);
      f.inc(j, 16);
    });
    for (const [pointers, stride] of strides) for (const p of pointers) f.incBy(p, stride);
    f.inc(rows, -1);
  });
}

/**
 * strassen_split(a11, a12, a21, a22, lda, s1, s2, s3, s4, lds, rows, cols): the operand sums of
 * one Strassen-Winograd level (core's STRASSEN_PRODUCTS), S1 = A21 + A22, S2 = S1 - A11,
 * S3 = A11 - A21, S4 = A12 - S2, each rounded to float32; strides and cols in bytes.
 */
function strassenSplitFunc(): Func {
  const f = new Func('strassen_split', Array(12).fill(I32), [], true);
  const [a11, a12, a21, a22, lda, s1, s2, s3, s4, lds, rows, cols] = Array.from({ length: 12 }, (_, i) => f.param(i));
  const [v11, v12, v21, v22, t1, t2] = Array.from({ length: 6 }, () => f.local(V128));
  rowsOfVectors(f, rows, cols, [[[a11, a12, a21, a22], lda], [[s1, s2, s3, s4], lds]], (j) => {
    for (const [p, v] of [[a11, v11], [a12, v12], [a21, v21], [a22, v22]]) f.get(p).get(j).add().v128Load().set(v);
    f.get(s1).get(j).add().get(v21).get(v22).f32x4Add().tee(t1).v128Store();
    f.get(s2).get(j).add().get(t1).get(v11).f32x4Sub().tee(t2).v128Store();
    f.get(s3).get(j).add().get(v11).get(v21).f32x4Sub().v128Store();
    f.get(s4).get(j).add().get(v12).get(t2).f32x4Sub().v128Store();
  });
  return f;
}

/**
 * strassen_merge(p1, .., p7, ldp, c11, c12, c21, c22, ldc, rows, cols) -> i32: the output blocks
 * of one level from its products, C11 = P1 + P2, C12 = ((P1 + P6) + P5) + P3,
 * C21 = ((P1 + P6) + P7) - P4, C22 = ((P1 + P6) + P7) + P5; returns 1 if any output is not
 * finite (the caller then runs the rows directly). Strides and cols in bytes.
 */
function strassenMergeFunc(): Func {
  const f = new Func('strassen_merge', Array(15).fill(I32), [I32], true);
  const P = Array.from({ length: 7 }, (_, i) => f.param(i));
  const [ldp, c11, c12, c21, c22, ldc, rows, cols] = Array.from({ length: 8 }, (_, i) => f.param(7 + i));
  const v = P.map(() => f.local(V128));
  const [u2, u3, out, nonFinite] = Array.from({ length: 4 }, () => f.local(V128));
  // nonFinite accumulates out - out: 0 while every output is finite, NaN for good after one that is not.
  const store = (c: Local, j: Local, value: () => void): void => {
    f.get(c).get(j).add();
    value();
    f.tee(out).v128Store();
    f.get(nonFinite).get(out).get(out).f32x4Sub().f32x4Add().set(nonFinite);
  };
  f.v128Zero().set(nonFinite);
  rowsOfVectors(f, rows, cols, [[P, ldp], [[c11, c12, c21, c22], ldc]], (j) => {
    P.forEach((p, k) => f.get(p).get(j).add().v128Load().set(v[k]));
    f.get(v[0]).get(v[5]).f32x4Add().set(u2);
    f.get(u2).get(v[6]).f32x4Add().set(u3);
    store(c11, j, () => f.get(v[0]).get(v[1]).f32x4Add());
    store(c12, j, () => f.get(u2).get(v[4]).f32x4Add().get(v[2]).f32x4Add());
    store(c21, j, () => f.get(u3).get(v[3]).f32x4Sub());
    store(c22, j, () => f.get(u3).get(v[4]).f32x4Add());
  });
  f.get(nonFinite).get(nonFinite).f32x4Ne().v128AnyTrue();
  return f;
}

/** The module: relu, relu6, bias_add, bias_add_relu, batch_norm, maxpool, strassen_split, strassen_merge over the imported memory. */
export function buildElementwiseModule(memory: MemoryImport): Uint8Array<ArrayBuffer> {
  return encodeModule(memory, [
    clampFunc(false), clampFunc(true), biasAddFunc(false), biasAddFunc(true), batchNormFunc(), maxpoolFunc(), strassenSplitFunc(), strassenMergeFunc(),
  ]);
}
