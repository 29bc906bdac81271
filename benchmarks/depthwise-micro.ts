/**
 * Micro benchmark of the depthwise convolution: MobileNet v2's depthwise layers (3x3, multiplier
 * 1, SAME, batch 1), Tessera's cpu backend (a session of one node; inputs and outputs bound, so
 * nothing is copied) against tfjs-wasm in the same process, calls interleaved. By default both
 * run depthwise + bias + relu6 in one op (Tessera's fused_depthwise_conv2d, as the fusion pass
 * makes it; tf.fused.depthwiseConv2d); with --plain, depthwise_conv2d against tf.depthwiseConv2d.
 * Prints the median of the runs per layer and the ratio tfjs / Tessera (> 1: Tessera faster).
 * The tfjs output stays in its wasm memory (no dataSync), as Tessera's stays in its arena.
 *
 * Run: pnpm tsx --conditions=@tessera/source benchmarks/depthwise-micro.ts [--runs N] [--plain] [--js]
 *   --js  Tessera's TypeScript kernel instead (the fallback without wasm SIMD).
 */
import { CpuBackend } from '@tessera/backend-cpu';
import { GraphBuilder, Tensor, type Graph } from '@tessera/core';
import { createContainer, registerBackend } from '@tessera/runtime';
import * as tf from '@tensorflow/tfjs-core';
import { tesseraCall, timeInterleaved } from './harness.js';
import { useTfjsBackend } from './peers/tfjs.js';

/** [H (= W), C, stride] of MobileNet v2's depthwise layers at 224x224. */
const LAYERS: readonly [number, number, number][] = [
  [112, 32, 1], [112, 96, 2], [56, 144, 1], [56, 144, 2], [28, 192, 1], [28, 192, 2], [14, 384, 1], [14, 576, 1], [14, 576, 2], [7, 960, 1],
];

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const RUNS = Math.max(20, Number(arg('--runs') ?? 30));
const JS = process.argv.includes('--js');
const PLAIN = process.argv.includes('--plain');

function randomData(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

function layerGraph(h: number, c: number, stride: number, f: Float32Array, b: Float32Array): Graph {
  const g = new GraphBuilder(`dw-${h}x${c}-s${stride}`);
  const x = g.input('x', [1, h, h, c]);
  const filter = g.constant('f', new Tensor([3, 3, c, 1], f));
  const attrs = { strides: [stride, stride] as [number, number], padding: 'SAME' as const };
  if (PLAIN) return g.build({ y: g.depthwiseConv2d(x, filter, attrs) });
  const bias = g.constant('b', new Tensor([c], b));
  return g.build({ y: g.op('fused_depthwise_conv2d', [x, filter, bias], { ...attrs, activation: 'relu6' }) });
}

async function main(): Promise<void> {
  await useTfjsBackend('wasm');
  const container = createContainer();
  registerBackend(container, 'cpu', () => new CpuBackend(JS ? { gemm: 'js' } : {}));
  const what = PLAIN ? 'depthwise' : 'depthwise + bias + relu6';
  const peerName = `tfjs ${tf.getBackend()} (simd ${await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')}, threads ${await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')})`;
  console.log(`depthwise micro (${what}): ${RUNS} interleaved runs per layer, median ms; ${peerName}, Tessera cpu (${JS ? 'TypeScript kernel' : 'wasm SIMD'})`);
  console.log(`${'layer'.padEnd(22)} ${'tessera'.padStart(9)} ${'tfjs-wasm'.padStart(9)} ${'ratio'.padStart(7)}`);
  let sumT = 0;
  let sumP = 0;
  for (const [h, c, stride] of LAYERS) {
    const xd = randomData(h * h * c, 1);
    const fd = randomData(9 * c, 2);
    const bd = randomData(c, 3);
    const graph = layerGraph(h, c, stride, fd, bd);
    const { session, run } = await tesseraCall(graph, xd, 'bound', { backend: 'cpu', container });
    const x = tf.tensor4d(xd, [1, h, h, c]);
    const f = tf.tensor4d(fd, [3, 3, c, 1]);
    const b = tf.tensor1d(bd);
    const peer = () => {
      const y = PLAIN
        ? tf.depthwiseConv2d(x, f, stride, 'same')
        : tf.fused.depthwiseConv2d({ x, filter: f, strides: stride, pad: 'same', bias: b, activation: 'relu6' });
      y.dispose();
    };
    const t = await timeInterleaved([{ name: 'tessera', run }, { name: 'tfjs', run: peer }], { runs: RUNS, warmup: 5, warmupMs: 200 });
    const [mt, mp] = [t.get('tessera')!.median, t.get('tfjs')!.median];
    sumT += mt;
    sumP += mp;
    console.log(`${`${h}x${h}x${c} s${stride}`.padEnd(22)} ${mt.toFixed(3).padStart(9)} ${mp.toFixed(3).padStart(9)} ${(mp / mt).toFixed(2).padStart(6)}x`);
    session.dispose();
    tf.dispose([x, f, b]);
  }
  console.log(`${'sum'.padEnd(22)} ${sumT.toFixed(3).padStart(9)} ${sumP.toFixed(3).padStart(9)} ${(sumP / sumT).toFixed(2).padStart(6)}x`);
}

await main();
