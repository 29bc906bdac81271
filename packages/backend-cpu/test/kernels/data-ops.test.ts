/**
 * The add / mul / relu6 / pad / concat kernels run on any split of their units: a step run in
 * random pieces gives the same bits as the reference rounded to float32 (exact for relu6, pad and
 * concat; one rounding of x op y for add and mul), and writes nothing outside its output.
 */
import { describe, expect } from 'vitest';
import { test, fc } from '@fast-check/vitest';
import { GraphBuilder, Tensor, evaluate, numel, prng, type Graph, type Shape } from '@tessera/core';
import { planExecution } from '@tessera/runtime';
import { compileProgram, cpuKernel, readOutputs, writeInputs, type Memory } from '../../src/kernels-api.js';
import { broadcastGeometry } from '../../src/kernels/broadcast.js';

/** Data with zeros of both signs, NaN, infinities, ties at 6 and values past it. */
function data(n: number, seed: number): Float32Array {
  const next = prng(seed);
  const specials = [0, -0, NaN, Infinity, -Infinity, 6, -6, 7.5, 1e-40];
  return Float32Array.from({ length: n }, () => (next() < 0.2 ? specials[Math.floor(next() * specials.length)] : (next() * 2 - 1) * 10));
}

/** Runs the one-node graph's step in the pieces cut at `cuts` (fractions of its units); returns the output. */
function runInPieces(graph: Graph, feeds: Record<string, Float32Array>, cuts: readonly number[]): Float32Array {
  const plan = planExecution(graph);
  const program = compileProgram(plan, cpuKernel, 'cpu');
  const guard = 37;
  const mem: Memory = { arena: new Float32Array(program.arenaSize + guard).fill(12345), weights: new Float32Array(program.weightsSize) };
  program.fillWeights(mem.weights);
  writeInputs(program, mem, feeds);
  const [step] = program.steps;
  const kernel = cpuKernel(step.kernel)!;
  const bounds = [0, ...cuts.map((c) => Math.floor(c * step.units)).sort((a, b) => a - b), step.units];
  for (let i = 0; i + 1 < bounds.length; i++) kernel.run(step, mem, bounds[i], bounds[i + 1], new Float32Array(0));
  // Nothing past the arena's planned size is touched.
  expect(Array.from(mem.arena.subarray(program.arenaSize)).every((v) => v === 12345)).toBe(true);
  return readOutputs(program, mem).y;
}

function expectReference(graph: Graph, feeds: Record<string, Float32Array>, got: Float32Array): void {
  const ref = evaluate(graph, feeds).y;
  expect(got.length).toBe(ref.value.length);
  for (let i = 0; i < got.length; i++) {
    const want = Math.fround(ref.value[i]);
    if (!(Object.is(got[i], want) || (Number.isNaN(got[i]) && Number.isNaN(want)))) {
      throw new Error(`element ${i}: got ${got[i]}, want ${want} (${graph.toString()})`);
    }
  }
}

const cutsArb = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 });
const shapeArb = (maxRank: number, minRank = 0) => fc.array(fc.integer({ min: 1, max: 5 }), { minLength: minRank, maxLength: maxRank });

describe('add and mul with broadcasting', () => {
  const pairArb = fc
    .record({ out: shapeArb(4), keepA: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), keepB: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), dropA: fc.nat(4), dropB: fc.nat(4) })
    .map(({ out, keepA, keepB, dropA, dropB }) => {
      const a = out.slice(Math.min(dropA, out.length)).map((d, i) => (keepA[i] ? d : 1));
      const b = out.slice(Math.min(dropB, out.length)).map((d, i) => (keepB[i] ? d : 1));
      return { a, b };
    });

  test.prop([pairArb, fc.constantFrom('add', 'mul'), fc.integer(), cutsArb])('any broadcast, any split: one float32 rounding of a op b', ({ a, b }, op, seed, cuts) => {
    const g = new GraphBuilder('bin');
    const x = g.input('a', a);
    const y = g.constant('b', new Tensor(b, data(numel(b), seed + 1)));
    const graph = g.build({ y: op === 'add' ? g.add(x, y) : g.mul(x, y) });
    const feeds = { a: data(numel(a), seed) };
    expectReference(graph, feeds, runInPieces(graph, feeds, cuts));
  });

  test('the geometry coalesces axes both operands read as one', () => {
    expect(broadcastGeometry([2, 3, 4], [2, 3, 4], [2, 3, 4])).toEqual({ dims: [24], aStrides: [1], bStrides: [1] });
    expect(broadcastGeometry([1, 5, 5, 8], [8], [1, 5, 5, 8])).toEqual({ dims: [25, 8], aStrides: [8, 1], bStrides: [0, 1] });
    expect(broadcastGeometry([2, 4, 4, 8], [2, 1, 1, 8], [2, 4, 4, 8])).toEqual({ dims: [2, 16, 8], aStrides: [128, 8, 1], bStrides: [8, 0, 1] });
    expect(broadcastGeometry([], [], [])).toEqual({ dims: [1], aStrides: [0], bStrides: [0] });
    expect(broadcastGeometry([3, 1], [1, 4], [3, 4])).toEqual({ dims: [3, 4], aStrides: [1, 0], bStrides: [0, 1] });
  });
});

describe('relu6, pad and concat', () => {
  test.prop([shapeArb(4), fc.integer(), cutsArb])('relu6: any split, in place or not', (shape, seed, cuts) => {
    const g = new GraphBuilder('r6');
    const graph = g.build({ y: g.relu6(g.input('x', shape)) });
    const feeds = { x: data(numel(shape), seed) };
    expectReference(graph, feeds, runInPieces(graph, feeds, cuts));
  });

  test.prop([shapeArb(4), fc.array(fc.tuple(fc.nat(3), fc.nat(3)), { minLength: 4, maxLength: 4 }), fc.constantFrom(0, -0, 1.5, -7, 0.1), fc.integer(), cutsArb])(
    'pad: any rank, pads and value, any split of the output rows',
    (shape, pads, value, seed, cuts) => {
      const g = new GraphBuilder('pad');
      const graph = g.build({ y: g.pad(g.input('x', shape), { paddings: shape.map((_, i) => pads[i]), value }) });
      const feeds = { x: data(numel(shape), seed) };
      expectReference(graph, feeds, runInPieces(graph, feeds, cuts));
    },
  );

  test.prop([shapeArb(4, 1), fc.nat(3), fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }), fc.integer(), cutsArb])(
    'concat: 1 to 5 operands (inputs and constants) on any axis, any split of the output runs',
    (shape, axisPick, sizes, seed, cuts) => {
      const axis = axisPick % shape.length;
      const g = new GraphBuilder('cat');
      const feeds: Record<string, Float32Array> = {};
      const values = sizes.map((d, k) => {
        const s: Shape = shape.map((x, i) => (i === axis ? d : x));
        if (k % 2 === 1) return g.constant(`c${k}`, new Tensor(s, data(numel(s), seed + k)));
        feeds[`v${k}`] = data(numel(s), seed + k);
        return g.input(`v${k}`, s);
      });
      const graph = g.build({ y: g.concat(values, { axis }) });
      expectReference(graph, feeds, runInPieces(graph, feeds, cuts));
    },
  );
});
