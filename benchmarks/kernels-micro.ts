/**
 * Single-thread micro benchmark of the CPU kernels (GEMM and conv2d).
 * Run: npx tsx benchmarks/kernels-micro.ts [substring filter on the case name]
 * Each case runs on the JS kernel (float32 arithmetic, what runs without WebAssembly SIMD)
 * and on the WebAssembly SIMD kernel (operands in a WebAssembly.Memory); both give the same bits.
 * Prints median and best GFLOP/s over RUNS timed runs after warm-up.
 * FLOPs count 2*M*N*K (for conv, padding taps included: the usual convention).
 */
import {
  conv2d, conv2dScratchSize, convCall, createWasmArena, gemmCall, jsGemm, packB, packBWasmInto, packedLeavesSize, packStrassenB,
  strassenPanel, strassenScratchSize, WASM_MR, wasmGemmLayout, wasmPackedBSize, wasmSimdSupported, type Conv2dGeometry, type Gemm,
} from '../packages/backend-cpu/src/kernels/index.js';
import { WasmElementwise } from '../packages/backend-cpu/src/kernels/wasm/elementwise.js';
import { wasmWinogradFor } from '../packages/backend-cpu/src/kernels/wasm/winograd.js';
import {
  F4X4, jsTransforms, packedFilterSize, packFilter, transformFilter, tileCounts, winograd, winogradScratchSize, type WinogradCall,
} from '../packages/backend-cpu/src/kernels/winograd.js';

// Warm up for at least WARMUP runs and WARMUP_MS, so the JIT has optimized the kernels.
const WARMUP = 3;
const WARMUP_MS = 500;
const RUNS = 7;

function randomArray(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

const filter = process.argv[2] ?? '';

/**
 * Times RUNS calls of fn. Wall time is the headline; process CPU time is also
 * shown because on a shared, overloaded machine wall time mostly measures
 * the scheduler (CPU time still suffers from cache/core contention, less so).
 */
function measure(name: string, flops: number, fn: () => void): void {
  const warmStart = performance.now();
  for (let i = 0; i < WARMUP || performance.now() - warmStart < WARMUP_MS; i++) fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    wall.push(performance.now() - t0);
    const dc = process.cpuUsage(c0);
    cpu.push((dc.user + dc.system) / 1000);
  }
  const sort = (xs: number[]) => xs.sort((a, b) => a - b);
  sort(wall);
  sort(cpu);
  const gflops = (ms: number) => (flops / (ms * 1e6)).toFixed(2);
  const mid = Math.floor(RUNS / 2);
  // "min" GFLOP/s is the slowest run, "max" the fastest.
  console.log(
    `${name.padEnd(48)} wall: median ${gflops(wall[mid])} GFLOP/s  min ${gflops(wall[RUNS - 1])}  max ${gflops(wall[0])}` +
      `  | cpu-time: median ${gflops(cpu[mid])}  min ${gflops(cpu[RUNS - 1])}`,
  );
}

function benchGemm(M: number, N: number, K: number): void {
  if (!`gemm M=${M} N=${N} K=${K}`.includes(filter)) return;
  const a = randomArray(M * K);
  const b = randomArray(K * N);
  const pb = packB(K, N, b, 0, N, false);
  const c = new Float32Array(M * N);
  const bias = randomArray(N);
  const call = (gemm: Gemm, a: Float32Array, b: Float32Array, c: Float32Array, bias: Float32Array) => {
    const run = Object.assign(gemmCall(), { M, N, K, a, lda: K, b, c, ldc: N, bias, activation: 'relu' as const, rowEnd: M });
    return () => gemm.run(run);
  };
  measure(`gemm M=${M} N=${N} K=${K} js`, 2 * M * N * K, call(jsGemm, a, pb, c, bias));
  if (!wasmSimdSupported()) return;
  const w = createWasmArena([M * K, wasmPackedBSize(K, N), M * N, N])!;
  const [A, P, C, Bias] = w.regions;
  A.set(a);
  Bias.set(bias);
  packBWasmInto(P, 0, K, N, b, 0, N, false);
  measure(`gemm M=${M} N=${N} K=${K} wasm`, 2 * M * N * K, call(w.gemm, A, P, C, Bias));
}

/**
 * Strassen-Winograd (kernels/strassen.ts) on one panel of M rows against the direct wasm GEMM of
 * the same product, both on the same operands; FLOPs are the direct algorithm's (2 M N K), so
 * GFLOP/s above the direct's are "effective".
 */
function benchStrassen(M: number, N: number, K: number, levels: number): void {
  const name = `strassen M=${M} N=${N} K=${K} levels=${levels}`;
  if (!name.includes(filter) || !wasmSimdSupported()) return;
  const shape = { k: K, n: N, levels };
  const b = randomArray(K * N);
  const w = createWasmArena([M * K, wasmPackedBSize(K, N), packedLeavesSize(wasmGemmLayout, shape), M * N, strassenScratchSize(shape, M)])!;
  const [A, P, L, C, S] = w.regions;
  A.set(randomArray(M * K));
  packBWasmInto(P, 0, K, N, b, 0, N, false);
  packStrassenB(wasmGemmLayout, shape, b, 0, N, false, L, 0);
  const ew = new WasmElementwise(w.memory);
  const direct = Object.assign(gemmCall(), { M, N, K, a: A, lda: K, b: P, c: C, ldc: N, rowEnd: M });
  measure(`${name}: direct wasm`, 2 * M * N * K, () => w.gemm.run(direct));
  const panel = { gemm: w.gemm, ew, shape, a: A, aOff: 0, c: C, cOff: 0, rows: M, leaves: L, leavesOff: 0, scratch: S, scratchOff: 0 };
  measure(`${name}: strassen wasm`, 2 * M * N * K, () => strassenPanel(panel));
}

function benchConv(name: string, g: Conv2dGeometry): void {
  if (!`conv2d ${name}`.includes(filter)) return;
  const M = g.batch * g.outH * g.outW;
  const K = g.kH * g.kW * g.inC;
  const x = randomArray(g.batch * g.inH * g.inW * g.inC);
  const wRaw = randomArray(K * g.outC);
  const w = packB(K, g.outC, wRaw, 0, g.outC, false);
  const y = new Float32Array(M * g.outC);
  const scratch = new Float32Array(conv2dScratchSize(g, 0, M, jsGemm.mr));
  const bias = randomArray(g.outC);
  const call = (gemm: Gemm, x: Float32Array, w: Float32Array, y: Float32Array, bias: Float32Array, scratch: Float32Array) => {
    const run = Object.assign(convCall(), { g, x, w, y, bias, activation: 'relu' as const, scratch, rowEnd: M });
    return () => conv2d(gemm, run);
  };
  measure(`conv2d ${name} js`, 2 * M * K * g.outC, call(jsGemm, x, w, y, bias, scratch));
  if (!wasmSimdSupported()) return;
  const arena = createWasmArena([x.length, wasmPackedBSize(K, g.outC), M * g.outC, g.outC, conv2dScratchSize(g, 0, M, WASM_MR)])!;
  const [X, P, Y, Bias, S] = arena.regions;
  X.set(x);
  Bias.set(bias);
  packBWasmInto(P, 0, K, g.outC, wRaw, 0, g.outC, false);
  measure(`conv2d ${name} wasm`, 2 * M * K * g.outC, call(arena.gemm, X, P, Y, Bias, S));
}

/**
 * A 3x3 stride-1 conv as Winograd F(4x4, 3x3) next to the direct (im2col + GEMM) wasm conv on the
 * same data: FLOPs are the direct conv's (2 x its MACs), so GFLOP/s is "effective" and the two
 * lines' ratio is the speed-up. What `winogradPays` (ops/conv2d.ts) was set from.
 */

function benchWinograd(name: string, g: Conv2dGeometry): void {
  if (!`winograd ${name}`.includes(filter) || !wasmSimdSupported()) return;
  const M = g.batch * g.outH * g.outW;
  const K = g.kH * g.kW * g.inC;
  const flops = 2 * M * K * g.outC;
  const geometry = { ...g, padBottom: 0, padRight: 0 };
  const wRaw = randomArray(K * g.outC);
  const tiles = tileCounts(F4X4, geometry).total;
  const sizes = [g.batch * g.inH * g.inW * g.inC, wasmPackedBSize(K, g.outC), M * g.outC, g.outC, conv2dScratchSize(g, 0, M, WASM_MR)];
  const arena = createWasmArena([...sizes, packedFilterSize(F4X4, wasmGemmLayout, g.inC, g.outC), wRaw.length, winogradScratchSize(F4X4, geometry, WASM_MR, 0, tiles)])!;
  const [X, P, Y, Bias, S, U, W, WS] = arena.regions;
  X.set(randomArray(X.length));
  Bias.set(randomArray(g.outC));
  W.set(wRaw);
  packBWasmInto(P, 0, K, g.outC, wRaw, 0, g.outC, false);
  packFilter(F4X4, wasmGemmLayout, transformFilter(F4X4, wRaw, 0, g.inC, g.outC)!, g.inC, g.outC, U, 0);
  const direct = Object.assign(convCall(), { g, x: X, w: P, y: Y, bias: Bias, activation: 'relu' as const, scratch: S, rowEnd: M });
  measure(`winograd ${name}: direct wasm`, flops, () => conv2d(arena.gemm, direct));
  const c: WinogradCall = {
    plan: F4X4, g: geometry, x: X, xOff: 0, u: U, uOff: 0, w: W, wOff: 0, y: Y, yOff: 0, bias: Bias, biasOff: 0,
    residual: null, residualOff: 0, activation: 'relu', scratch: WS, scratchOff: 0,
  };
  const transforms = wasmWinogradFor({ arena: X, weights: U, gemm: arena.gemm }, c) ?? jsTransforms;
  measure(`winograd ${name}: F(4x4,3x3) wasm`, flops, () => winograd(arena.gemm, transforms, c, 0, tiles));
}

function geom(inHW: number, inC: number, k: number, outC: number, stride: number, padBefore: number, padAfter: number): Conv2dGeometry {
  const out = Math.floor((inHW + padBefore + padAfter - k) / stride) + 1;
  return {
    batch: 1, inH: inHW, inW: inHW, inC, kH: k, kW: k, outC, outH: out, outW: out,
    strideH: stride, strideW: stride, dilationH: 1, dilationW: 1, padTop: padBefore, padLeft: padBefore,
  };
}

benchGemm(1024, 1024, 1024);
benchGemm(512, 512, 512);
benchGemm(3136, 64, 576);
// Strassen on the panels the cpu backend runs (512 rows): the 'auto' rule's cases and the ones next to them.
for (const [n, levels] of [[1024, 2], [1024, 1], [1024, 3], [512, 1], [512, 2], [256, 1]]) benchStrassen(512, n, n, levels);
for (const m of [480, 520, 1024]) benchStrassen(m, 1024, 1024, 2);
benchConv('56x56x64 -> 64 3x3 s1 SAME (1/1)', geom(56, 64, 3, 64, 1, 1, 1));
benchConv('57x57x32 -> 48 5x5 s2 SAME (2/2)', geom(57, 32, 5, 48, 2, 2, 2));
benchConv('56x56x32 -> 48 5x5 s2 SAME (1/2)', geom(56, 32, 5, 48, 2, 1, 2));
benchConv('56x56x64 -> 64 1x1 s1 (pointwise)', geom(56, 64, 1, 64, 1, 0, 0));
// ResNet-50's 3x3 stride-1 convs, then fewer channels (where the transforms weigh more).
for (const [hw, c] of [[56, 64], [28, 128], [14, 256], [7, 512], [56, 32], [56, 16], [56, 8], [28, 32], [14, 64], [7, 128]]) {
  benchWinograd(`${hw}x${hw}x${c} -> ${c}`, geom(hw, c, 3, c, 1, 1, 1));
}
// Small K: the seed CNN's conv (one input channel, K = 9; one image of W1-b32) and MobileNet's first (K = 27, stride 2).
benchConv('28x28x1 -> 64 3x3 s1 SAME (small K)', geom(28, 1, 3, 64, 1, 1, 1));
benchConv('224x224x3 -> 32 3x3 s2 SAME (small K)', geom(224, 3, 3, 32, 2, 0, 1));
benchGemm(784, 64, 9);
benchGemm(12544, 32, 27);
