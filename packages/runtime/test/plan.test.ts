import { GraphBuilder, Tensor, numel } from '@tessera/core';
import { bottleneckBlock, seedCnn } from '@tessera/examples';
import { describe, expect, test } from 'vitest';
import { ARENA_ALIGN, planExecution } from '../src/index.js';

describe('execution plan', () => {
  test('W3 needs less arena than the sum of its buffers (memory is reused between non-overlapping lifetimes)', () => {
    const plan = planExecution(bottleneckBlock());
    expect(plan.arenaSize).toBeLessThan(plan.noReuseSize);
    // The last conv reads 56x56x64 and writes 56x56x256: at least those two must fit.
    expect(plan.arenaSize).toBeGreaterThanOrEqual(56 * 56 * 64 + 56 * 56 * 256);
  });

  test('buffers whose lifetimes overlap never overlap in memory, and every buffer is aligned', () => {
    const plan = planExecution(bottleneckBlock());
    for (const a of plan.buffers) {
      expect(a.offset % ARENA_ALIGN).toBe(0);
      for (const b of plan.buffers) {
        if (a === b) continue;
        const liveTogether = a.firstStep <= b.lastStep && b.firstStep <= a.lastStep;
        const shareMemory = a.offset < b.offset + b.size && b.offset < a.offset + a.size;
        expect(liveTogether && shareMemory, `buffers ${a.id} and ${b.id}`).toBe(false);
      }
    }
  });

  test('a reshape is a view: it shares its input buffer, whose lifetime then covers the reshape\'s readers', () => {
    const g = new GraphBuilder('view');
    const x = g.input('x', [2, 3, 4]);
    const r = g.relu(x, { name: 'r' });
    const flat = g.reshape(r, [2, 12], { name: 'flat' });
    const w = g.constant('w', new Tensor([12, 5]));
    const y = g.matmul(flat, w, { name: 'y' });
    const plan = planExecution(g.build({ y }));
    const rLoc = plan.locate('r');
    const flatLoc = plan.locate('flat');
    expect(rLoc.kind === 'arena' && flatLoc.kind === 'arena' && rLoc.buffer === flatLoc.buffer).toBe(true);
    expect(plan.isView(plan.steps.find((n) => n.name === 'flat')!)).toBe(true);
    if (rLoc.kind === 'arena') expect(rLoc.buffer.lastStep).toBe(plan.steps.findIndex((n) => n.name === 'y'));
    expect(plan.locate('w')).toEqual({ kind: 'constant', name: 'w' });
  });

  test('graph outputs stay live to the end, so nothing after them reuses their memory', () => {
    const g = new GraphBuilder('outs');
    const x = g.input('x', [64]);
    const a = g.relu(x, { name: 'a' });
    const b = g.relu(a, { name: 'b' });
    const c = g.relu(b, { name: 'c' });
    const plan = planExecution(g.build({ a, c }));
    const loc = plan.locate('a');
    expect(loc.kind === 'arena' && loc.buffer.lastStep).toBe(plan.steps.length);
    // b = relu(a) cannot run in place (a is an output); c = relu(b) can (b dies with c).
    const buffer = (v: string) => {
      const l = plan.locate(v);
      return l.kind === 'arena' ? l.buffer : null;
    };
    expect(buffer('b')).not.toBe(buffer('a'));
    expect(buffer('c')).toBe(buffer('b'));
    expect(plan.noReuseSize).toBe(3 * Math.ceil(numel([64]) / ARENA_ALIGN) * ARENA_ALIGN);
  });

  test('an element-wise op runs in place only over an intermediate that nothing reads later (through any view)', () => {
    const g = new GraphBuilder('inplace');
    const x = g.input('x', [2, 8]);
    const r = g.relu(x, { name: 'r' }); // x is a graph input: not overwritten
    const s = g.relu(r, { name: 's' }); // r is read again below (via a view): not in place
    const v = g.reshape(r, [16], { name: 'v' });
    const t = g.relu(v, { name: 't' }); // the last read of r's storage: in place
    const b = g.constant('b', new Tensor([8]));
    const u = g.biasAdd(s, b, { name: 'u' }); // s dies here: in place
    const plan = planExecution(g.build({ t, u }));
    const buffer = (name: string) => {
      const l = plan.locate(name);
      return l.kind === 'arena' ? l.buffer : null;
    };
    expect(buffer('r')).not.toBe(buffer('x'));
    expect(buffer('s')).not.toBe(buffer('r'));
    expect(buffer('t')).toBe(buffer('r'));
    expect(buffer('u')).toBe(buffer('s'));
    // A buffer shared in place lives until its last reader (here: the graph outputs).
    expect(buffer('r')!.lastStep).toBe(plan.steps.length);
  });

  test('steps planned together (a span) never share memory among the values they touch; outside the span memory is reused again', () => {
    const graph = seedCnn({ batch: 4 });
    const free = planExecution(graph);
    const n = graph.nodes.length;
    const spanned = planExecution(graph, { together: [[0, n - 1]] });
    const touched = (plan: ReturnType<typeof planExecution>) => {
      const names = new Set([...graph.inputs.map((v) => v.name), ...graph.nodes.flatMap((node) => [node.name, ...node.inputs])]);
      return [...names].map((v) => plan.locate(v)).flatMap((l) => (l.kind === 'arena' ? [l.buffer] : []));
    };
    const distinct = (plan: ReturnType<typeof planExecution>) => [...new Set(touched(plan))];
    for (const a of distinct(spanned)) {
      for (const b of distinct(spanned)) {
        if (a !== b) expect(a.offset + a.size <= b.offset || b.offset + b.size <= a.offset, `buffers ${a.id} and ${b.id}`).toBe(true);
      }
    }
    // Without the span, the seed CNN reuses the input's memory later (so the arena is smaller).
    expect(free.arenaSize).toBeLessThan(spanned.arenaSize);
    // In place still applies inside a span: relu shares the conv output's buffer.
    const loc = (p: ReturnType<typeof planExecution>, v: string) => p.locate(v);
    const conv = graph.nodes.find((node) => node.op === 'conv2d')!;
    const relu = graph.nodes.find((node) => node.op === 'relu')!;
    expect(loc(spanned, relu.name)).toEqual(loc(spanned, conv.name));
  });

  test('with keepInputs, no other value shares memory with a graph input (its contents survive the run)', () => {
    const graph = seedCnn({ batch: 4 });
    const overlapsInput = (plan: ReturnType<typeof planExecution>) => {
      const input = plan.locate('x');
      if (input.kind !== 'arena') throw new Error('x is not in the arena');
      const { offset, size } = input.buffer;
      return plan.buffers.filter((b) => b !== input.buffer && b.offset < offset + size && offset < b.offset + b.size).length;
    };
    // By default the seed CNN puts later values over its input (it is dead after the first conv).
    expect(overlapsInput(planExecution(graph))).toBeGreaterThan(0);
    const kept = planExecution(graph, { keepInputs: true });
    expect(overlapsInput(kept)).toBe(0);
    expect(kept.options.keepInputs).toBe(true);
  });
});
