import { describe, expect, it } from 'vitest';
import { numel } from '@tessera/core';
import { BOUND_IO_PROPERTY, GRAPHS_PROPERTY, OP_NAMES_UNDER_TEST, SPECIAL_PROPERTIES, formatReport, reproFromJson, reproToJson, replayRepro, runConformance, runConformanceToReport, type ConformanceEvent } from '../src/index.js';
import { containerWith } from './ref32.js';

const collect = (events$: ReturnType<typeof runConformance>) =>
  new Promise<ConformanceEvent[]>((resolve, reject) => {
    const events: ConformanceEvent[] = [];
    events$.subscribe({ next: (e) => events.push(e), error: reject, complete: () => resolve(events) });
  });

describe('runConformance on a correct backend (float64 reference rounded to float32 per node)', () => {
  it('passes every property and disposes every session', async () => {
    const counters = { compiled: 0, disposed: 0 };
    const container = containerWith('ref32', { counters });
    const report = await runConformanceToReport({ backend: 'ref32', container, runs: 25, graphs: 40, seed: 1234 });
    expect(report.ok, formatReport(report)).toBe(true);
    expect(report.seed).toBe(1234);
    expect(report.properties.map((p) => p.property)).toEqual([...OP_NAMES_UNDER_TEST, GRAPHS_PROPERTY, BOUND_IO_PROPERTY, ...SPECIAL_PROPERTIES]);
    for (const p of report.properties) {
      // 40 random graphs; the first 25 of them again through bound inputs and outputs.
      expect(p.casesRun).toBe(p.property === GRAPHS_PROPERTY ? 40 : 25);
      expect(p.passed).toBe(p.casesRun);
      expect(p.worstRatio).toBeLessThanOrEqual(1);
    }
    expect(report.casesRun).toBe(OP_NAMES_UNDER_TEST.length * 25 + 40 + 25 + 2 * 25);
    expect(counters.compiled).toBe(report.casesRun);
    expect(counters.disposed).toBe(counters.compiled);
  });

  it('emits start, case-start / case-pass per case, property-done per property, then done', async () => {
    const events = await collect(runConformance({ backend: 'ref32', container: containerWith('ref32'), runs: 5, graphs: 5, ops: ['relu', 'conv2d'], seed: 7 }));
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('start');
    expect(types.at(-1)).toBe('done');
    expect(types.filter((t) => t === 'case-start')).toHaveLength(30);
    expect(types.filter((t) => t === 'case-pass')).toHaveLength(30);
    expect(events.filter((e) => e.type === 'property-done').map((e) => (e as { property: string }).property)).toEqual(['relu', 'conv2d', 'graphs', 'bound-io', 'nonfinite', 'extreme']);
    const start = events[0] as Extract<ConformanceEvent, { type: 'start' }>;
    expect(start.seed).toBe(7);
  });

  it('draws a fresh seed when none is given and reports it', async () => {
    const a = await runConformanceToReport({ backend: 'ref32', container: containerWith('ref32'), runs: 3, graphs: 0, ops: ['relu'] });
    expect(Number.isInteger(a.seed)).toBe(true);
  });

  it('stops after the current case when unsubscribed', async () => {
    const counters = { compiled: 0, disposed: 0 };
    const events: ConformanceEvent[] = [];
    await new Promise<void>((resolve) => {
      const sub = runConformance({ backend: 'ref32', container: containerWith('ref32', { counters }), runs: 50, graphs: 0, ops: ['conv2d'], seed: 3 }).subscribe((e) => {
        events.push(e);
        if (e.type === 'case-pass' && e.index === 2) {
          sub.unsubscribe();
          setTimeout(resolve, 50);
        }
      });
    });
    expect(events.filter((e) => e.type === 'case-pass')).toHaveLength(3);
    expect(counters.compiled).toBe(3);
    expect(counters.disposed).toBe(3);
  });
});

describe('runConformance on wrong backends', () => {
  it('catches relu computed as abs, shrinks it to a tiny case and disposes every session', async () => {
    const counters = { compiled: 0, disposed: 0 };
    const container = containerWith('abs-relu', { relu: 'abs', counters });
    const events = await collect(runConformance({ backend: 'abs-relu', container, runs: 50, graphs: 50, seed: 99 }));
    const report = (events.at(-1) as Extract<ConformanceEvent, { type: 'done' }>).report;
    expect(report.ok).toBe(false);
    const byName = Object.fromEntries(report.properties.map((p) => [p.property, p]));
    for (const op of ['conv2d', 'bias_add', 'maxpool', 'reshape', 'matmul', 'slice']) expect(byName[op].failure, op).toBeUndefined();
    for (const op of ['relu', 'fused_conv2d', 'fused_matmul', 'graphs']) expect(byName[op].failure, op).toBeDefined();

    const relu = byName.relu.failure!;
    expect(relu.graphObject.nodes.map((n) => n.op)).toEqual(['relu']);
    expect(numel(relu.graphObject.inputs[0].shape)).toBe(1);
    expect(relu.feeds.x[0]).toBeLessThan(0);
    expect(relu.outcome.summary).toMatch(/got [\d.e+-]+, expected 0 ± 0/);
    expect(relu.message).toContain(`seed: ${report.seed}`);
    expect(relu.message).toContain('= relu(%x)');

    const fails = events.filter((e) => e.type === 'case-fail');
    expect(fails.map((e) => (e as { property: string }).property)).toEqual(['fused_conv2d', 'relu', 'fused_matmul', 'graphs', 'bound-io', 'nonfinite', 'extreme']);
    // The shrunk random graph still holds a relu (alone or fused).
    expect(byName.graphs.failure!.graphObject.nodes.some((n) => n.op === 'relu' || n.attrs.activation === 'relu')).toBe(true);
    expect(counters.disposed).toBe(counters.compiled);
  });

  it('catches a backend whose bound inputs do not survive a run (bound-io fails on the second run; plain runs pass)', async () => {
    const container = containerWith('clobber', { clobberBoundInputs: true });
    const report = await runConformanceToReport({ backend: 'clobber', container, runs: 5, graphs: 10, ops: ['relu'], special: [], seed: 21 });
    const byName = Object.fromEntries(report.properties.map((p) => [p.property, p]));
    expect(byName.relu.failure).toBeUndefined();
    expect(byName.graphs.failure).toBeUndefined();
    const failure = byName[BOUND_IO_PROPERTY].failure!;
    expect(failure.outcome.summary).toMatch(/^bound IO, second run \(inputs written once\): /);
    // Its reproduction replays through bound inputs and outputs too, and fails the same way.
    const [replayed] = await replayRepro(reproFromJson(reproToJson(failure)), { container });
    expect(replayed.reproduced).toBe(true);
  });

  it('replays a failure from its seed and path', async () => {
    const container = containerWith('abs-relu', { relu: 'abs' });
    const first = await runConformanceToReport({ backend: 'abs-relu', container, runs: 40, graphs: 0, ops: ['fused_conv2d'], seed: 5 });
    const f = first.properties[0].failure!;
    const again = await runConformanceToReport({ backend: 'abs-relu', container, graphs: 0, ops: ['fused_conv2d'], seed: f.seed, path: f.path });
    expect(again.properties[0].failure?.graph).toBe(f.graph);
    expect(again.properties[0].casesRun).toBe(1);
  });

  it('catches a loss of precision in matmul and conv (11-bit mantissas) that a global epsilon of 1e-3 relative would let through', async () => {
    const container = containerWith('half', { dotMantissaBits: 11 });
    const report = await runConformanceToReport({ backend: 'half', container, runs: 30, graphs: 0, ops: ['matmul', 'conv2d', 'relu'], seed: 11 });
    const byName = Object.fromEntries(report.properties.map((p) => [p.property, p]));
    expect(byName.matmul.failure).toBeDefined();
    expect(byName.conv2d.failure).toBeDefined();
    expect(byName.relu.failure).toBeUndefined();
    const first = byName.matmul.failure!.outcome.outputs.y.firstFailure!;
    expect(Math.abs(first.actual - first.expected)).toBeLessThan(1e-3 * Math.abs(first.expected));
  });

  it('reports a missing kernel as a compile failure naming the op', async () => {
    const container = containerWith('no-maxpool', { missing: ['maxpool'] });
    const report = await runConformanceToReport({ backend: 'no-maxpool', container, runs: 5, graphs: 0, ops: ['maxpool', 'relu'], seed: 1 });
    const f = report.properties[0].failure!;
    expect(f.outcome.error?.stage).toBe('compile');
    expect(f.outcome.error?.message).toMatch(/no kernel for op 'maxpool'/);
    expect(report.properties[1].failure).toBeUndefined();
  });

  it('refuses a path with several properties selected', async () => {
    await expect(runConformanceToReport({ backend: 'x', container: containerWith('x'), seed: 1, path: '0' })).rejects.toThrow(/one property/);
  });
});
