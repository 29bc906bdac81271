/**
 * Generates the WebAssembly SIMD module of one transpose tile (../transpose.ts has the tiling):
 *   tile(x, y, nq, nl, tq, sj)      all i32; x, y byte addresses, tq and sj in bytes
 *       y[i * tq + 4 j] = x[4 i + j * sj] (as floats) for i < nq, j < nl
 * Blocks of 4 x 4 are four vector loads (4 consecutive i of one j), a 4 x 4 transpose by shuffles
 * and four vector stores (4 consecutive j of one i); the edges are scalar copies. Only moves bits:
 * NaN payloads and -0 are kept, so it matches the TypeScript loop bit for bit.
 */
import { encodeModule, Func, I32, V128, type MemoryImport } from './emit.js';

/** i8x16.shuffle of two vectors by 32-bit lanes (0..3 the first, 4..7 the second). */
function shuffle32(f: Func, lanes: readonly [number, number, number, number]): void {
  f.code.push(0xfd, 0x0d);
  for (const l of lanes) for (let b = 0; b < 4; b++) f.code.push(4 * l + b);
}

function tileFunc(): Func {
  const f = new Func('tile', [I32, I32, I32, I32, I32, I32], [], true);
  const [x, y, nq, nl, tq, sj] = [0, 1, 2, 3, 4, 5];
  const i = f.local(I32);
  const j = f.local(I32);
  const s = f.local(I32);
  const d = f.local(I32);
  const v = Array.from({ length: 4 }, () => f.local(V128));
  const t = Array.from({ length: 4 }, () => f.local(V128));
  // s = x + 4 i; d = y + i * tq
  const rowStart = () => {
    f.get(x).get(i).i32(2).shl().add().set(s);
    f.get(y).get(i).get(tq).mul().add().set(d);
  };
  f.i32(0).set(i);
  // Rows of 4.
  f.whileNot(() => f.get(nq).get(i).sub().i32(4).ltS(), () => {
    rowStart();
    f.i32(0).set(j);
    f.whileNot(() => f.get(nl).get(j).sub().i32(4).ltS(), () => {
      // v_k = x[s + k sj .. +4]: i..i+3 of column j + k
      for (let k = 0; k < 4; k++) {
        f.get(s);
        if (k > 0) f.get(sj).i32(k).mul().add();
        f.v128Load().set(v[k]);
      }
      f.get(v[0]).get(v[1]);
      shuffle32(f, [0, 4, 1, 5]);
      f.set(t[0]);
      f.get(v[2]).get(v[3]);
      shuffle32(f, [0, 4, 1, 5]);
      f.set(t[1]);
      f.get(v[0]).get(v[1]);
      shuffle32(f, [2, 6, 3, 7]);
      f.set(t[2]);
      f.get(v[2]).get(v[3]);
      shuffle32(f, [2, 6, 3, 7]);
      f.set(t[3]);
      // Output row i + k: lane k of v_0..v_3.
      const rows: [number, number, readonly [number, number, number, number]][] = [
        [t[0], t[1], [0, 1, 4, 5]],
        [t[0], t[1], [2, 3, 6, 7]],
        [t[2], t[3], [0, 1, 4, 5]],
        [t[2], t[3], [2, 3, 6, 7]],
      ];
      rows.forEach(([a, b, lanes], k) => {
        f.get(d);
        if (k > 0) f.get(tq).i32(k).mul().add();
        f.get(a).get(b);
        shuffle32(f, lanes);
        f.v128Store();
      });
      f.get(s).get(sj).i32(2).shl().add().set(s);
      f.inc(d, 16).inc(j, 4);
    });
    // The last columns of these 4 rows, one float at a time.
    f.whileNot(() => f.get(j).get(nl).geS(), () => {
      for (let k = 0; k < 4; k++) {
        f.get(d);
        if (k > 0) f.get(tq).i32(k).mul().add();
        f.get(s).f32Load(4 * k).f32Store();
      }
      f.incBy(s, sj).inc(d, 4).inc(j, 1);
    });
    f.inc(i, 4);
  });
  // The last rows, one float at a time.
  f.whileNot(() => f.get(i).get(nq).geS(), () => {
    rowStart();
    f.i32(0).set(j);
    f.whileNot(() => f.get(j).get(nl).geS(), () => {
      f.get(d).get(s).f32Load().f32Store();
      f.incBy(s, sj).inc(d, 4).inc(j, 1);
    });
    f.inc(i, 1);
  });
  return f;
}

export function buildTransposeModule(memory: MemoryImport): Uint8Array<ArrayBuffer> {
  return encodeModule(memory, [tileFunc()]);
}
