/**
 * Generates the WebAssembly SIMD (f32x4) module of the depthwise convolution with multiplier 1
 * (MobileNet's), bias and activation fused in. See ./depthwise.ts for the JavaScript side.
 *
 * Export (all parameters i32; addresses are byte addresses, multiples of 4):
 *   depthwise(x, w, bias, y, C, inH, inW, kH, kW, sH, sW, dH, dW, padT, padL, outH, outW, oh, ow, rows, act, hasBias)
 *       `rows` output pixels from pixel (0, oh, ow) on, written from y (C floats each); x is the
 *       address of input image 0 (the next image starts inH * inW * C floats later), w of the
 *       [kH, kW, C] filter, bias of C floats (read when hasBias); act 0 none, 1 relu, 2 relu6.
 *
 * Every output is, as in the TypeScript kernel (../depthwise.ts), acc = +0, then tap by tap in
 * window order acc = f32(acc + f32(x * w)), where a padded tap multiplies 0 (so a NaN / Inf
 * weight gives NaN there), then acc = f32(acc + bias), then the activation as compare + select
 * (relu: x <= 0 -> +0; relu6: then x > 6 -> 6; NaN stays): the same bits, lane by lane.
 *
 * Channels are innermost: blocks of 4 vectors (16 channels), then single vectors, then scalars.
 * A 3x3 window wholly inside the input (the interior of a MobileNet layer) runs unrolled with no
 * bounds tests; other windows test each tap.
 */
import { encodeModule, F32, Func, I32, V128, type Local, type MemoryImport } from './emit.js';

// Opcodes the shared emitter does not name (appended raw to a function's code).
const F32_MUL = 0x94;
const F32_GT = 0x5e;
const SIMD = 0xfd;
const F32X4_GT = 0x44;

const PARAMS = [
  'x', 'w', 'bias', 'y', 'C', 'inH', 'inW', 'kH', 'kW', 'sH', 'sW', 'dH', 'dW', 'padT', 'padL', 'outH', 'outW', 'oh', 'ow', 'rows', 'act', 'hasBias',
] as const;
type Param = (typeof PARAMS)[number];

/** The function's parameters by name and its locals, made once (indices are declaration order). */
function dwLocals(f: Func) {
  const p = Object.fromEntries(PARAMS.map((name, i) => [name, i])) as Record<Param, Local>;
  const i32 = (): Local => f.local(I32);
  return {
    ...p,
    c: i32(), // channel of the current block
    iy0: i32(), // input row / column of the window's first tap
    ix0: i32(),
    iy: i32(),
    ix: i32(),
    ky: i32(),
    kx: i32(),
    base: i32(), // address of the window's first tap, channel 0 (interior windows)
    rowStep: i32(), // bytes between window rows (dH input rows)
    colStep: i32(), // bytes between window columns (dW input pixels)
    pix: i32(), // bytes of one pixel's channels (C floats)
    image: i32(), // bytes of one input image
    interior3x3: i32(),
    p: i32(), // input address of the current tap
    q: i32(), // filter address of the current tap
    zero: f.local(V128),
    six: f.local(V128),
    acc: Array.from({ length: 4 }, () => f.local(V128)),
    sacc: f.local(F32),
  };
}
type DwLocals = ReturnType<typeof dwLocals>;

/** acc_j = f32x4(acc_j + x_j * w_j) for the nv vectors at input address p and filter address q. */
function emitVectorTap(f: Func, l: DwLocals, nv: number, padded: boolean): void {
  for (let j = 0; j < nv; j++) {
    f.get(l.acc[j]);
    if (padded) f.get(l.zero);
    else f.get(l.p).v128Load(16 * j);
    f.get(l.q).v128Load(16 * j).f32x4Mul().f32x4Add().set(l.acc[j]);
  }
}

/** sacc = f32(sacc + x * w) for one channel. */
function emitScalarTap(f: Func, l: DwLocals, padded: boolean): void {
  f.get(l.sacc);
  if (padded) f.f32(0);
  else f.get(l.p).f32Load();
  f.get(l.q).f32Load();
  f.code.push(F32_MUL);
  f.f32Add().set(l.sacc);
}

/** Any window: taps in order, each tested against the input's bounds; `tap(padded)` accumulates one. */
function emitCheckedTaps(f: Func, l: DwLocals, tap: (padded: boolean) => void): void {
  f.get(l.w).get(l.c).i32(2).shl().add().set(l.q);
  f.get(l.iy0).set(l.iy);
  f.i32(0).set(l.ky);
  f.whileNot(() => f.get(l.ky).get(l.kH).geS(), () => {
    f.get(l.ix0).set(l.ix);
    f.i32(0).set(l.kx);
    f.whileNot(() => f.get(l.kx).get(l.kW).geS(), () => {
      // inside = 0 <= iy < inH and 0 <= ix < inW (unsigned compares: a negative index is huge)
      f.get(l.iy).get(l.inH).ltU();
      f.get(l.ix).get(l.inW).ltU().and();
      f.if(
        () => {
          f.get(l.x).get(l.iy).get(l.inW).mul().get(l.ix).add().get(l.pix).mul().add().get(l.c).i32(2).shl().add().set(l.p);
          tap(false);
        },
        () => tap(true),
      );
      f.incBy(l.q, l.pix).incBy(l.ix, l.dW).inc(l.kx, 1);
    });
    f.incBy(l.iy, l.dH).inc(l.ky, 1);
  });
}

/** A 3x3 window inside the input: nine taps unrolled, no tests. */
function emitInteriorTaps(f: Func, l: DwLocals, tap: () => void): void {
  f.get(l.w).get(l.c).i32(2).shl().add().set(l.q);
  for (let ky = 0; ky < 3; ky++) {
    f.get(l.base).get(l.c).i32(2).shl().add();
    if (ky > 0) f.get(l.rowStep).i32(ky).mul().add();
    f.set(l.p);
    for (let kx = 0; kx < 3; kx++) {
      tap();
      if (ky * 3 + kx < 8) f.incBy(l.q, l.pix);
      if (kx < 2) f.incBy(l.p, l.colStep);
    }
  }
}

/** v = activation(v + bias) for vector local v of the block at channel c + 4j. */
function emitVectorEpilogue(f: Func, l: DwLocals, v: Local, j: number): void {
  f.get(l.hasBias).if(() => {
    f.get(v).get(l.bias).get(l.c).i32(2).shl().add().v128Load(16 * j).f32x4Add().set(v);
  });
  f.get(l.act).if(() => {
    // bitselect(zero, v, v <= 0); relu6 then bitselect(six, v, v > 6)
    f.get(l.zero).get(v).get(v).get(l.zero).f32x4Le().v128Bitselect().set(v);
    f.get(l.act).i32(2).eq().if(() => {
      f.get(l.six).get(v).get(v).get(l.six);
      f.code.push(SIMD, F32X4_GT);
      f.v128Bitselect().set(v);
    });
  });
}

/** The same epilogue on the scalar accumulator. */
function emitScalarEpilogue(f: Func, l: DwLocals): void {
  f.get(l.hasBias).if(() => {
    f.get(l.sacc).get(l.bias).get(l.c).i32(2).shl().add().f32Load().f32Add().set(l.sacc);
  });
  f.get(l.act).if(() => {
    f.f32(0).get(l.sacc).get(l.sacc).f32(0).f32Le().select().set(l.sacc);
    f.get(l.act).i32(2).eq().if(() => {
      f.f32(6).get(l.sacc).get(l.sacc).f32(6);
      f.code.push(F32_GT);
      f.select().set(l.sacc);
    });
  });
}

/** Channel blocks of nv vectors while c + 4 nv <= C, each over all the window's taps. */
function emitVectorBlocks(f: Func, l: DwLocals, nv: number): void {
  f.whileNot(() => f.get(l.c).i32(4 * nv).add().get(l.C).gtS(), () => {
    for (let j = 0; j < nv; j++) f.get(l.zero).set(l.acc[j]);
    f.get(l.interior3x3).if(
      () => emitInteriorTaps(f, l, () => emitVectorTap(f, l, nv, false)),
      () => emitCheckedTaps(f, l, (padded) => emitVectorTap(f, l, nv, padded)),
    );
    for (let j = 0; j < nv; j++) {
      emitVectorEpilogue(f, l, l.acc[j], j);
      f.get(l.y).get(l.c).i32(2).shl().add().get(l.acc[j]).v128Store(16 * j);
    }
    f.inc(l.c, 4 * nv);
  });
}

/** The channels left after the vector blocks, one at a time. */
function emitScalarTail(f: Func, l: DwLocals): void {
  f.whileNot(() => f.get(l.c).get(l.C).geS(), () => {
    f.f32(0).set(l.sacc);
    emitCheckedTaps(f, l, (padded) => emitScalarTap(f, l, padded));
    emitScalarEpilogue(f, l);
    f.get(l.y).get(l.c).i32(2).shl().add().get(l.sacc).f32Store();
    f.inc(l.c, 1);
  });
}

/** Where the current pixel's window starts, and whether it is a 3x3 window wholly inside the input. */
function emitWindow(f: Func, l: DwLocals): void {
  f.get(l.oh).get(l.sH).mul().get(l.padT).sub().set(l.iy0);
  f.get(l.ow).get(l.sW).mul().get(l.padL).sub().set(l.ix0);
  f.get(l.kH).i32(3).eq().get(l.kW).i32(3).eq().and();
  f.get(l.iy0).i32(0).geS().and().get(l.ix0).i32(0).geS().and();
  f.get(l.iy0).get(l.dH).i32(1).shl().add().get(l.inH).ltS().and();
  f.get(l.ix0).get(l.dW).i32(1).shl().add().get(l.inW).ltS().and();
  f.set(l.interior3x3);
  f.get(l.interior3x3).if(() => {
    f.get(l.x).get(l.iy0).get(l.inW).mul().get(l.ix0).add().get(l.pix).mul().add().set(l.base);
  });
}

/** Moves y and (image, oh, ow) on by one output pixel. */
function emitNextPixel(f: Func, l: DwLocals): void {
  f.incBy(l.y, l.pix).inc(l.rows, -1).inc(l.ow, 1);
  f.get(l.ow).get(l.outW).eq().if(() => {
    f.i32(0).set(l.ow);
    f.inc(l.oh, 1);
    f.get(l.oh).get(l.outH).eq().if(() => {
      f.i32(0).set(l.oh);
      f.incBy(l.x, l.image);
    });
  });
}

function depthwiseFunc(): Func {
  const f = new Func('depthwise', Array(PARAMS.length).fill(I32), [], true);
  const l = dwLocals(f);
  f.f32(6).f32x4Splat().set(l.six);
  f.get(l.C).i32(2).shl().set(l.pix);
  f.get(l.dH).get(l.inW).mul().get(l.pix).mul().set(l.rowStep);
  f.get(l.dW).get(l.pix).mul().set(l.colStep);
  f.get(l.inH).get(l.inW).mul().get(l.pix).mul().set(l.image);
  f.whileNot(() => f.get(l.rows).eqz(), () => {
    emitWindow(f, l);
    f.i32(0).set(l.c);
    emitVectorBlocks(f, l, 4);
    emitVectorBlocks(f, l, 1);
    emitScalarTail(f, l);
    emitNextPixel(f, l);
  });
  return f;
}

/** The module: depthwise over the imported memory. */
export function buildDepthwiseModule(memory: MemoryImport): Uint8Array<ArrayBuffer> {
  return encodeModule(memory, [depthwiseFunc()]);
}
