import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GraphBuilder, evaluate } from '@tessera/core';
import { FLOAT32_MAX, extremeArbitrary, graphArbitrary, nonFiniteArbitrary, opCaseArbitrary, reproFromJson, reproToJson, runConformanceToReport, type ConformanceCase } from '../src/index.js';
import { containerWith } from './ref32.js';

const values = (c: ConformanceCase) => [...Object.values(c.feeds), ...[...c.graph.constants.values()].map((t) => t.data)].flatMap((d) => Array.from(d));

describe('non-finite and extreme data', () => {
  it('nonfinite cases hold NaN, +Inf, -Inf and -0, in inputs and in constants, and the reference propagates them', () => {
    const seen = new Set<string>();
    for (const c of fc.sample(nonFiniteArbitrary(fc.oneof(opCaseArbitrary('conv2d'), opCaseArbitrary('maxpool'), graphArbitrary())), { numRuns: 200, seed: 4 })) {
      for (const v of values(c)) {
        if (Number.isNaN(v)) seen.add('NaN');
        if (v === Infinity) seen.add('+Inf');
        if (v === -Infinity) seen.add('-Inf');
        if (Object.is(v, -0)) seen.add('-0');
      }
      if ([...c.graph.constants.values()].some((t) => t.data.some((v) => !Number.isFinite(v)))) seen.add('constant');
      const ref = evaluate(c.graph, c.feeds);
      if (Object.values(ref).some((r) => r.value.some((v) => !Number.isFinite(v)))) seen.add('non-finite output');
      if (Object.values(ref).some((r) => r.value.some((v, i) => Object.is(v, -0) && r.zeroSign?.[i]))) seen.add('specified -0 output');
    }
    expect([...seen].sort()).toEqual(['+Inf', '-0', '-Inf', 'NaN', 'constant', 'non-finite output', 'specified -0 output']);
  });

  it('a relu that keeps -0 (`x < 0 ? 0 : x`) fails the relu property (cases starting with -0) and the nonfinite property on the sign of zero', async () => {
    const container = containerWith('neg-zero', { relu: 'keep-neg-zero' });
    const report = await runConformanceToReport({ backend: 'neg-zero', container, graphs: 0, ops: ['relu'], special: ['nonfinite'], seed: 11 });
    expect(report.properties.map((p) => [p.property, p.failure !== undefined])).toEqual([['relu', true], ['nonfinite', true]]);
    for (const p of report.properties) expect(p.failure!.outcome.summary).toMatch(/got -0, expected \+0 \(wrong sign of zero/);
  });

  it('extreme cases reach near float32 max and its subnormals, with finite inputs', () => {
    let huge = 0;
    let subnormal = 0;
    let bad = 0;
    for (const c of fc.sample(extremeArbitrary(fc.oneof(opCaseArbitrary('relu'), opCaseArbitrary('matmul'), opCaseArbitrary('bias_add'))), { numRuns: 200, seed: 5 })) {
      for (const v of values(c)) {
        if (!Number.isFinite(v) || Math.abs(v) > FLOAT32_MAX) bad++;
        if (Math.abs(v) > 1e37) huge++;
        if (v !== 0 && Math.abs(v) < 2 ** -126) subnormal++;
      }
    }
    expect(bad).toBe(0);
    expect(huge).toBeGreaterThan(0);
    expect(subnormal).toBeGreaterThan(0);
  });

  it('the float64 reference rounded to float32 per node passes them (they are fair to a correct backend)', async () => {
    const report = await runConformanceToReport({ backend: 'ref32', container: containerWith('ref32'), runs: 150, graphs: 50, seed: 77, only: undefined, ops: ['conv2d', 'maxpool', 'bias_add', 'matmul', 'relu'] });
    for (const p of report.properties) expect(p.failure?.message, p.property).toBeUndefined();
  });
});

describe('reproduction documents', () => {
  it('keep NaN, ±Inf, -0 and the reference through JSON', async () => {
    const report = await runConformanceToReport({ backend: 'abs', container: containerWith('abs', { relu: 'abs' }), runs: 50, graphs: 0, ops: ['relu'], special: ['nonfinite'], only: 'nonfinite', seed: 3 });
    const f = report.properties[0].failure!;
    expect(f).toBeDefined();
    const json = JSON.parse(JSON.stringify(reproToJson(f)));
    const r = reproFromJson(json);
    expect(r.graph.toString()).toBe(f.graph);
    for (const [k, v] of Object.entries(f.feeds)) expect(Array.from(r.feeds[k]).map(String)).toEqual(Array.from(v).map(String));
    // A graph whose input holds the five values: a document's feeds must fit its graph.
    const b = new GraphBuilder('five');
    const five = b.build({ y: b.relu(b.input('x', [5]), { name: 'y' }) });
    const x = Float32Array.from([NaN, Infinity, -Infinity, -0, 1.5]);
    const again = reproFromJson(JSON.parse(JSON.stringify(reproToJson({ ...f, graphObject: five, feeds: { x }, outcome: { ...f.outcome, reference: undefined, actual: { y: x } } }))));
    expect(Array.from(again.feeds.x).map((v) => Object.is(v, -0) ? '-0' : String(v))).toEqual(['NaN', 'Infinity', '-Infinity', '-0', '1.5']);
    expect(r.summary).toBe(f.outcome.summary);
    expect(Object.keys(r.expected)).toEqual(['y']);
  });
});
