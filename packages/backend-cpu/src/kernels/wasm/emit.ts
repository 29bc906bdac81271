/**
 * A tiny WebAssembly binary emitter: just the instructions the GEMM module needs
 * (i32 arithmetic, structured control flow, f32 / v128 loads and stores, a few
 * f32x4 operations). Code is generated at start-up, so loops can be unrolled
 * by the generator and tile sizes stay parameters.
 *
 * Encoding reference: the WebAssembly core specification 2.0 (binary format)
 * and the fixed-width SIMD proposal's opcode table.
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof V128;

function uleb(out: number[], n: number): void {
  n >>>= 0;
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

function sleb(out: number[], n: number): void {
  n |= 0;
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function utf8(out: number[], s: string): void {
  const bytes = new TextEncoder().encode(s);
  uleb(out, bytes.length);
  out.push(...bytes);
}

/** A local variable (or parameter) index. */
export type Local = number;

/**
 * One function's body. Methods append instructions and return `this`, so
 * code reads in stack-machine order: `f.get(a).get(b).i32Add().set(c)`.
 */
export class Func {
  readonly code: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(
    readonly name: string,
    readonly params: readonly ValType[],
    readonly results: readonly ValType[],
    readonly exported: boolean,
  ) {}

  /** The index of parameter i. */
  param(i: number): Local {
    return i;
  }

  local(t: ValType): Local {
    this.locals.push(t);
    return this.params.length + this.locals.length - 1;
  }

  private op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  private simd(opcode: number): this {
    this.code.push(0xfd);
    uleb(this.code, opcode);
    return this;
  }

  private memarg(align: number, offset: number): this {
    uleb(this.code, align);
    uleb(this.code, offset);
    return this;
  }

  // --- variables and constants
  get(l: Local): this {
    this.op(0x20);
    uleb(this.code, l);
    return this;
  }
  set(l: Local): this {
    this.op(0x21);
    uleb(this.code, l);
    return this;
  }
  tee(l: Local): this {
    this.op(0x22);
    uleb(this.code, l);
    return this;
  }
  i32(c: number): this {
    this.op(0x41);
    sleb(this.code, c);
    return this;
  }
  f32(c: number): this {
    this.op(0x43);
    const b = new Uint8Array(new Float32Array([c]).buffer);
    this.code.push(...b);
    return this;
  }
  v128Zero(): this {
    this.simd(0x0c);
    for (let i = 0; i < 16; i++) this.code.push(0);
    return this;
  }

  // --- i32
  add(): this { return this.op(0x6a); }
  sub(): this { return this.op(0x6b); }
  mul(): this { return this.op(0x6c); }
  divU(): this { return this.op(0x6e); }
  and(): this { return this.op(0x71); }
  or(): this { return this.op(0x72); }
  shl(): this { return this.op(0x74); }
  eqz(): this { return this.op(0x45); }
  eq(): this { return this.op(0x46); }
  ne(): this { return this.op(0x47); }
  ltS(): this { return this.op(0x48); }
  ltU(): this { return this.op(0x49); }
  shrU(): this { return this.op(0x76); }
  gtS(): this { return this.op(0x4a); }
  geS(): this { return this.op(0x4e); }
  select(): this { return this.op(0x1b); }
  drop(): this { return this.op(0x1a); }

  /** local += c */
  inc(l: Local, c: number): this {
    return this.get(l).i32(c).add().set(l);
  }
  /** local += other local */
  incBy(l: Local, by: Local): this {
    return this.get(l).get(by).add().set(l);
  }
  /** Pushes min(a, b) of two i32 locals / constants (signed). */
  minS(a: () => void, b: () => void): this {
    a();
    b();
    a();
    b();
    return this.ltS().select();
  }

  // --- bulk memory (memory 0)
  /** memory.copy: dst, src, bytes on the stack. */
  memoryCopy(): this { return this.op(0xfc, 0x0a, 0x00, 0x00); }
  /** memory.fill: dst, byte value, bytes on the stack. */
  memoryFill(): this { return this.op(0xfc, 0x0b, 0x00); }

  // --- f32 scalar
  f32Load(offset = 0): this { return this.op(0x2a).memarg(2, offset); }
  f32Store(offset = 0): this { return this.op(0x38).memarg(2, offset); }
  f32Add(): this { return this.op(0x92); }
  f32Sub(): this { return this.op(0x93); }
  f32Mul(): this { return this.op(0x94); }
  f32Le(): this { return this.op(0x5f); }
  f32Gt(): this { return this.op(0x5e); }

  // --- v128 / f32x4
  v128Load(offset = 0): this { return this.simd(0x00).memarg(4, offset); }
  v128Store(offset = 0): this { return this.simd(0x0b).memarg(4, offset); }
  v128Load32Splat(offset = 0): this { return this.simd(0x09).memarg(2, offset); }
  f32x4Splat(): this { return this.simd(0x13); }
  f32x4Add(): this { return this.simd(0xe4); }
  f32x4Sub(): this { return this.simd(0xe5); }
  f32x4Neg(): this { return this.simd(0xe1); }
  f32x4Mul(): this { return this.simd(0xe6); }
  /** Relaxed SIMD: a*b + c, fused or not as the hardware prefers (operands a, b, c on the stack). */
  f32x4RelaxedMadd(): this { return this.simd(0x105); }
  f32x4Le(): this { return this.simd(0x45); }
  f32x4Gt(): this { return this.simd(0x44); }
  f32x4Ne(): this { return this.simd(0x42); }
  /** i32 1 if any bit of the vector is set. */
  v128AnyTrue(): this { return this.simd(0x53); }
  v128Bitselect(): this { return this.simd(0x52); }

  // --- calls and control
  call(fn: number): this {
    this.op(0x10);
    uleb(this.code, fn);
    return this;
  }
  br(depth: number): this {
    this.op(0x0c);
    uleb(this.code, depth);
    return this;
  }
  brIf(depth: number): this {
    this.op(0x0d);
    uleb(this.code, depth);
    return this;
  }
  block(body: () => void): this {
    this.op(0x02, 0x40);
    body();
    return this.op(0x0b);
  }
  loop(body: () => void): this {
    this.op(0x03, 0x40);
    body();
    return this.op(0x0b);
  }
  /** if (top of stack) then ... [else ...] */
  if(then: () => void, otherwise?: () => void): this {
    this.op(0x04, 0x40);
    then();
    if (otherwise) {
      this.op(0x05);
      otherwise();
    }
    return this.op(0x0b);
  }

  /**
   * while (!exit()) { body(); } where exit pushes an i32 condition. Inside
   * body, no br may target the loop (only nested structured helpers).
   */
  whileNot(exit: () => void, body: () => void): this {
    return this.block(() => {
      this.loop(() => {
        exit();
        this.brIf(1);
        body();
        this.br(0);
      });
    });
  }

  /** Encoded body: local declarations (run-length) + code + end. */
  encode(): number[] {
    const runs: [number, ValType][] = [];
    for (const t of this.locals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    const out: number[] = [];
    uleb(out, runs.length);
    for (const [n, t] of runs) {
      uleb(out, n);
      out.push(t);
    }
    out.push(...this.code, 0x0b);
    const sized: number[] = [];
    uleb(sized, out.length);
    return sized.concat(out);
  }
}

export interface MemoryImport {
  readonly module: string;
  readonly name: string;
  readonly minPages: number;
  /** Shared memories (for threads) need a maximum. */
  readonly shared?: { readonly maxPages: number };
}

function section(out: number[], id: number, body: number[]): void {
  out.push(id);
  uleb(out, body.length);
  out.push(...body);
}

/** A module with one imported memory and the given functions (indices in array order). */
export function encodeModule(memory: MemoryImport, funcs: readonly Func[]): Uint8Array<ArrayBuffer> {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  // Types: one per distinct signature.
  const sigs: string[] = [];
  const typeOf = funcs.map((f) => {
    const key = `${f.params.join(',')}:${f.results.join(',')}`;
    let i = sigs.indexOf(key);
    if (i < 0) i = sigs.push(key) - 1;
    return i;
  });
  const types: number[] = [];
  uleb(types, sigs.length);
  for (const key of sigs) {
    const [p, r] = key.split(':').map((s) => (s === '' ? [] : s.split(',').map(Number)));
    types.push(0x60);
    uleb(types, p.length);
    types.push(...p);
    uleb(types, r.length);
    types.push(...r);
  }
  section(out, 1, types);
  const imports: number[] = [];
  uleb(imports, 1);
  utf8(imports, memory.module);
  utf8(imports, memory.name);
  imports.push(0x02);
  if (memory.shared) {
    imports.push(0x03);
    uleb(imports, memory.minPages);
    uleb(imports, memory.shared.maxPages);
  } else {
    imports.push(0x00);
    uleb(imports, memory.minPages);
  }
  section(out, 2, imports);
  const fsec: number[] = [];
  uleb(fsec, funcs.length);
  for (const t of typeOf) uleb(fsec, t);
  section(out, 3, fsec);
  const exps = funcs.map((f, i) => [f, i] as const).filter(([f]) => f.exported);
  const esec: number[] = [];
  uleb(esec, exps.length);
  for (const [f, i] of exps) {
    utf8(esec, f.name);
    esec.push(0x00);
    uleb(esec, i);
  }
  section(out, 7, esec);
  const code: number[] = [];
  uleb(code, funcs.length);
  for (const f of funcs) code.push(...f.encode());
  section(out, 10, code);
  return new Uint8Array(out);
}
