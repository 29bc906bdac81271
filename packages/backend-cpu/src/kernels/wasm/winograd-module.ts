/**
 * Generates the WebAssembly SIMD (f32x4) module of the Winograd transforms (../winograd.ts),
 * vectorized over channels, 4 per v128 (C and K multiples of 4). The coefficient tables are
 * unrolled by the generator: each transformed element is its terms in order, exactly as the
 * TypeScript kernel's `combine` evaluates them (the same float32 operations, so the same bits).
 *
 * Exports (all parameters i32; addresses are byte addresses):
 *   input(x, V, stage, C, inH, inW, padT, padL, tilesH, tilesW, t0, count, stride)
 *       V[p][j][c] = (BT d B)[p] of tiles t0 + j (j < count), positions `stride` floats apart; x is the
 *       address of the image of tile 0. A tile wholly inside the input is read in place; another
 *       is first copied into `stage` (6 x 6 pixels of C floats) with zeros for padded cells.
 *   output(M, y, bias, res, K, outH, outW, tilesH, tilesW, t0, count, stride, act, hasBias, hasRes, flags) -> flagged
 *       y of tiles t0 + j = act(AT m A (+ bias) (+ residual)) from M[p][j][k], cells past the output
 *       skipped; y (and res) the address of the image of tile 0. flags[j] (f32) = 1 where the sum of
 *       the tile's conv values is not finite, else 0; returns how many.
 *   phase_rows(x, dst, C, inH, inW, padT, padL, n, r0, r1, phaseW)
 *       rows [r0, r1) of image n's phase image of a stride-2 conv into dst (`phaseRowsFunc`).
 */
import type { TermRows } from '../winograd.js';
import { encodeModule, Func, I32, V128, type Local, type MemoryImport } from './emit.js';

/** The transforms' geometry: the tile sides and the term tables. */
export interface WinogradModuleConfig {
  readonly alpha: number;
  readonly m: number;
  readonly inputRows: TermRows;
  readonly outputRows: TermRows;
}

/** v128 locals holding each coefficient magnitude other than 1, splatted once. */
function constants(f: Func, rows: readonly TermRows[]): Map<number, Local> {
  const out = new Map<number, Local>();
  for (const table of rows) {
    for (const row of table) {
      for (const { c } of row) {
        const a = Math.abs(c);
        if (a === 1 || out.has(a)) continue;
        const l = f.local(V128);
        f.f32(a).f32x4Splat().set(l);
        out.set(a, l);
      }
    }
  }
  return out;
}

/** Pushes sum of c * src[k] over the terms: as `combine` in ../winograd.ts. */
function emitCombine(f: Func, consts: Map<number, Local>, terms: TermRows[number], src: (k: number) => Local): void {
  terms.forEach(({ c, k }, i) => {
    f.get(src(k));
    if (Math.abs(c) !== 1) f.get(consts.get(Math.abs(c))!).f32x4Mul();
    if (i === 0) {
      if (c < 0) f.f32x4Neg();
    } else if (c < 0) f.f32x4Sub();
    else f.f32x4Add();
  });
}

/** n = t / (tilesH tilesW); ty, tx of the rest: tile t's image and tile coordinates into the given locals. */
function emitTileCoords(f: Func, t: Local, tilesH: Local, tilesW: Local, n: Local, ty: Local, tx: Local): void {
  f.get(t).get(tilesH).get(tilesW).mul().divU().set(n);
  f.get(t).get(n).get(tilesH).get(tilesW).mul().mul().sub().set(tx); // the rest, for now
  f.get(tx).get(tilesW).divU().set(ty);
  f.get(tx).get(ty).get(tilesW).mul().sub().set(tx);
}

function memoryFill(f: Func, dst: () => void, bytes: () => void): void {
  dst();
  f.i32(0);
  bytes();
  f.memoryFill();
}

function inputFunc(cfg: WinogradModuleConfig): Func {
  const names = ['x', 'V', 'stage', 'C', 'inH', 'inW', 'padT', 'padL', 'tilesH', 'tilesW', 't0', 'count', 'stride'] as const;
  const f = new Func('input', names.map(() => I32), [], true);
  const p = Object.fromEntries(names.map((n, i) => [n, f.param(i)])) as Record<(typeof names)[number], Local>;
  const a = cfg.alpha;
  const i32 = (): Local => f.local(I32);
  const [j, n, ty, tx, iy0, ix0, pix, rowBytes, image, base, rs, cb, vp, posBytes, r, iy, lo, hi, dst, src] = Array.from({ length: 20 }, i32);
  const rp = Array.from({ length: a }, i32);
  const d = Array.from({ length: a }, () => f.local(V128));
  const t1 = Array.from({ length: a * a }, () => f.local(V128));
  const consts = constants(f, [cfg.inputRows]);
  f.get(p.C).i32(2).shl().set(pix);
  f.get(p.inW).get(pix).mul().set(rowBytes);
  f.get(p.inH).get(rowBytes).mul().set(image);
  f.get(p.stride).i32(2).shl().set(posBytes);
  f.i32(0).set(j);
  f.whileNot(() => f.get(j).get(p.count).geS(), () => {
    f.get(p.t0).get(j).add().set(r);
    emitTileCoords(f, r, p.tilesH, p.tilesW, n, ty, tx);
    f.get(ty).i32(cfg.m).mul().get(p.padT).sub().set(iy0);
    f.get(tx).i32(cfg.m).mul().get(p.padL).sub().set(ix0);
    // Wholly inside: read in place; else stage the tile with zeros for its padded cells.
    f.get(iy0).i32(0).geS().get(ix0).i32(0).geS().and();
    f.get(iy0).i32(a).add().get(p.inH).gtS().eqz().and();
    f.get(ix0).i32(a).add().get(p.inW).gtS().eqz().and();
    f.if(
      () => {
        f.get(p.x).get(n).get(image).mul().add().get(iy0).get(rowBytes).mul().add().get(ix0).get(pix).mul().add().set(base);
        f.get(rowBytes).set(rs);
      },
      () => {
        // Columns [lo, hi) of the tile lie inside the input.
        f.i32(0).get(ix0).sub().i32(0).get(ix0).i32(0).ltS().select().set(lo);
        f.get(p.inW).get(ix0).sub().i32(a).get(p.inW).get(ix0).sub().i32(a).ltS().select().set(hi);
        f.i32(0).set(r);
        f.whileNot(() => f.get(r).i32(a).geS(), () => {
          f.get(iy0).get(r).add().set(iy);
          f.get(p.stage).get(r).i32(a).mul().get(pix).mul().add().set(dst);
          f.get(iy).get(p.inH).ltU();
          f.get(hi).get(lo).gtS().and();
          f.if(
            () => {
              memoryFill(f, () => f.get(dst), () => f.get(lo).get(pix).mul());
              f.get(p.x).get(n).get(image).mul().add().get(iy).get(rowBytes).mul().add().get(ix0).get(lo).add().get(pix).mul().add().set(src);
              f.get(dst).get(lo).get(pix).mul().add().get(src).get(hi).get(lo).sub().get(pix).mul();
              f.memoryCopy();
              memoryFill(f, () => f.get(dst).get(hi).get(pix).mul().add(), () => f.i32(a).get(hi).sub().get(pix).mul());
            },
            () => memoryFill(f, () => f.get(dst), () => f.i32(a).get(pix).mul()),
          );
          f.inc(r, 1);
        });
        f.get(p.stage).set(base);
        f.i32(a).get(pix).mul().set(rs);
      },
    );
    f.i32(0).set(cb);
    f.whileNot(() => f.get(cb).get(pix).geS(), () => {
      f.get(base).get(cb).add().set(rp[0]);
      for (let k = 1; k < a; k++) f.get(rp[k - 1]).get(rs).add().set(rp[k]);
      // Columns: t1[i][q] = (BT d)[i][q].
      for (let q = 0; q < a; q++) {
        for (let k = 0; k < a; k++) f.get(rp[k]).v128Load().set(d[k]);
        for (let i = 0; i < a; i++) {
          emitCombine(f, consts, cfg.inputRows[i], (k) => d[k]);
          f.set(t1[i * a + q]);
        }
        if (q < a - 1) for (let k = 0; k < a; k++) f.incBy(rp[k], pix);
      }
      // Rows: V[i][q] = (t1 B)[i][q], stored position after position.
      f.get(p.V).get(j).get(pix).mul().add().get(cb).add().set(vp);
      for (let i = 0; i < a; i++) {
        for (let q = 0; q < a; q++) {
          f.get(vp);
          emitCombine(f, consts, cfg.inputRows[q], (k) => t1[i * a + k]);
          f.v128Store();
          if (i * a + q < a * a - 1) f.incBy(vp, posBytes);
        }
      }
      f.inc(cb, 16);
    });
    f.inc(j, 1);
  });
  return f;
}

function outputFunc(cfg: WinogradModuleConfig): Func {
  const names = ['M', 'y', 'bias', 'res', 'K', 'outH', 'outW', 'tilesH', 'tilesW', 't0', 'count', 'stride', 'act', 'hasBias', 'hasRes', 'flags'] as const;
  const f = new Func('output', names.map(() => I32), [I32], true);
  const p = Object.fromEntries(names.map((n, i) => [n, f.param(i)])) as Record<(typeof names)[number], Local>;
  const a = cfg.alpha;
  const m = cfg.m;
  const i32 = (): Local => f.local(I32);
  const [j, t, n, ty, tx, pix, rowBytes, image, posBytes, ob, delta, kb, mp, addr, rv, cv, flagged, flag] = Array.from({ length: 18 }, i32);
  const rowOff = Array.from({ length: m }, i32);
  const mv = Array.from({ length: a * a }, () => f.local(V128));
  const t2 = Array.from({ length: m * a }, () => f.local(V128));
  const [yv, bad, zero, six] = Array.from({ length: 4 }, () => f.local(V128));
  const consts = constants(f, [cfg.outputRows]);
  f.f32(6).f32x4Splat().set(six);
  f.get(p.K).i32(2).shl().set(pix);
  f.get(p.outW).get(pix).mul().set(rowBytes);
  f.get(p.outH).get(rowBytes).mul().set(image);
  f.get(p.stride).i32(2).shl().set(posBytes);
  f.get(p.res).get(p.y).sub().set(delta);
  for (let i = 0; i < m; i++) f.get(rowBytes).i32(i).mul().set(rowOff[i]);
  f.i32(0).set(flagged);
  f.i32(0).set(j);
  f.whileNot(() => f.get(j).get(p.count).geS(), () => {
    f.get(p.t0).get(j).add().set(t);
    emitTileCoords(f, t, p.tilesH, p.tilesW, n, ty, tx);
    // rv, cv: output rows / columns of the tile inside the output.
    f.get(p.outH).get(ty).i32(m).mul().sub().set(rv);
    f.get(p.outW).get(tx).i32(m).mul().sub().set(cv);
    f.get(p.y).get(n).get(image).mul().add().get(ty).i32(m).mul().get(rowBytes).mul().add().get(tx).i32(m).mul().get(pix).mul().add().set(ob);
    f.v128Zero().set(bad);
    f.i32(0).set(kb);
    f.whileNot(() => f.get(kb).get(pix).geS(), () => {
      f.get(p.M).get(j).get(pix).mul().add().get(kb).add().set(mp);
      for (let q = 0; q < a * a; q++) {
        f.get(mp).v128Load().set(mv[q]);
        if (q < a * a - 1) f.incBy(mp, posBytes);
      }
      // Columns: t2[i][q] = (AT m)[i][q].
      for (let i = 0; i < m; i++) {
        for (let q = 0; q < a; q++) {
          emitCombine(f, consts, cfg.outputRows[i], (k) => mv[k * a + q]);
          f.set(t2[i * a + q]);
        }
      }
      // Rows: y[i][q] = (t2 A)[i][q], then the epilogue and the store of cells inside the output.
      for (let i = 0; i < m; i++) {
        for (let q = 0; q < m; q++) {
          emitCombine(f, consts, cfg.outputRows[q], (k) => t2[i * a + k]);
          f.tee(yv).get(bad).f32x4Add().set(bad);
          f.get(rv).i32(i).gtS().get(cv).i32(q).gtS().and().if(() => {
            f.get(ob).get(rowOff[i]).add().get(pix).i32(q).mul().add().get(kb).add().set(addr);
            f.get(p.hasBias).if(() => f.get(yv).get(p.bias).get(kb).add().v128Load().f32x4Add().set(yv));
            f.get(p.hasRes).if(() => f.get(yv).get(addr).get(delta).add().v128Load().f32x4Add().set(yv));
            f.get(p.act).if(() => {
              // relu: bitselect(+0, v, v <= 0); relu6 then bitselect(6, v, v > 6). NaN stays.
              f.get(zero).get(yv).get(yv).get(zero).f32x4Le().v128Bitselect().set(yv);
              f.get(p.act).i32(2).eq().if(() => f.get(six).get(yv).get(yv).get(six).f32x4Gt().v128Bitselect().set(yv));
            });
            f.get(addr).get(yv).v128Store();
          });
        }
      }
      f.inc(kb, 16);
    });
    // bad - bad is NaN in a lane whose sum is not finite.
    f.get(bad).get(bad).f32x4Sub().tee(yv).get(yv);
    f.f32x4Ne().v128AnyTrue().set(flag);
    f.get(p.flags).get(j).i32(2).shl().add().f32(1).f32(0).get(flag).select().f32Store();
    f.get(flagged).get(flag).add().set(flagged);
    f.inc(j, 1);
  });
  f.get(flagged);
  return f;
}

/**
 * phase_rows: rows [r0, r1) of image n's phase image of a stride-2 conv (core's `phaseGeometry`:
 * pixel (i, j) holds, phase p q after phase, the C floats of x[2i + p - padT][2j + q - padL], or
 * zeros outside x), one pixel of C floats copied at a time.
 */
function phaseRowsFunc(): Func {
  const names = ['x', 'dst', 'C', 'inH', 'inW', 'padT', 'padL', 'n', 'r0', 'r1', 'phaseW'] as const;
  const f = new Func('phase_rows', names.map(() => I32), [], true);
  const p = Object.fromEntries(names.map((n, i) => [n, f.param(i)])) as Record<(typeof names)[number], Local>;
  const [pix, i, j, phase, iy, ix, dst] = Array.from({ length: 7 }, () => f.local(I32));
  f.get(p.C).i32(2).shl().set(pix);
  f.get(p.dst).set(dst);
  f.get(p.r0).set(i);
  f.whileNot(() => f.get(i).get(p.r1).geS(), () => {
    f.i32(0).set(j);
    f.whileNot(() => f.get(j).get(p.phaseW).geS(), () => {
      f.i32(0).set(phase);
      f.whileNot(() => f.get(phase).i32(4).geS(), () => {
        f.get(i).get(i).add().get(phase).i32(1).shrU().add().get(p.padT).sub().set(iy);
        f.get(j).get(j).add().get(phase).i32(1).and().add().get(p.padL).sub().set(ix);
        f.get(iy).get(p.inH).ltU();
        f.get(ix).get(p.inW).ltU();
        f.and().if(
          () => {
            f.get(dst);
            f.get(p.x).get(p.n).get(p.inH).mul().get(iy).add().get(p.inW).mul().get(ix).add().get(pix).mul().add();
            f.get(pix);
            f.memoryCopy();
          },
          () => memoryFill(f, () => f.get(dst), () => f.get(pix)),
        );
        f.incBy(dst, pix);
        f.inc(phase, 1);
      });
      f.inc(j, 1);
    });
    f.inc(i, 1);
  });
  return f;
}

/** The module: input, output and phase_rows over the imported memory. */
export function buildWinogradModule(cfg: WinogradModuleConfig, memory: MemoryImport): Uint8Array<ArrayBuffer> {
  return encodeModule(memory, [inputFunc(cfg), outputFunc(cfg), phaseRowsFunc()]);
}
