/*
 * Acceptance on ONNX's own backend test data (the onnx Python package's
 * onnx/backend/test/data: pytorch-converted, pytorch-operator, simple), vendored in
 * packages/onnx/test/data with its Apache-2.0 license. Every case Tessera imports must
 *  - agree with its expected output (.pb, computed by PyTorch in float32) within the reference's
 *    bound: a correct float32 engine is within the bound of the exact result, whatever its
 *    summation order, so the expected output is too (factor 1, nothing tuned);
 *  - run on cpu, workers and webgl (headless Chromium, driven from Node) within the bound of core's reference (`compareToReference`, the
 *    rule conformance uses).
 * Cases that import refuses are listed with the reason, and the ones the issue names must import.
 */
import '@tessera/backend-cpu';
import { registerWorkersBackend } from '@tessera/backend-workers';
import { registerBrowserBackends } from '@tessera/browser';
import { compareToReference, compareWithin, evaluate, TesseraError, type Graph, type RefTensor } from '@tessera/core';
import { importOnnx, ONNX_PROTO, transposeData, type OnnxTensor } from '@tessera/onnx';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { backendNames, createSession, disposeBackends } from '@tessera/runtime';
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onnxCases, type OnnxCase } from './testdata.js';

const SUITES = ['pytorch-converted', 'pytorch-operator', 'simple'];
/** Cases the issue names: each must import and pass. */
const REQUIRED = [
  'test_Conv2d',
  'test_Conv2d_strided',
  'test_Conv2d_padding',
  'test_Conv2d_dilated',
  'test_Conv2d_groups',
  'test_Conv2d_groups_thnn',
  'test_Conv2d_depthwise',
  'test_Conv2d_depthwise_padded',
  'test_Conv2d_depthwise_strided',
  'test_Conv2d_depthwise_with_multiplier',
  'test_Conv2d_no_bias',
  'test_MaxPool2d',
  'test_AvgPool2d',
  'test_AvgPool2d_stride',
  'test_BatchNorm2d_eval',
  'test_BatchNorm2d_momentum_eval',
  'test_Linear',
  'test_Linear_no_bias',
  'test_ReLU',
  'test_Softmax',
];

/** Cases whose float64 reference takes seconds (test_operator_conv: 20x16x50x40): pnpm test:heavy. */
const HEAVY = new Set(['test_operator_conv']);

interface Imported {
  readonly c: OnnxCase;
  readonly graph: Graph;
  /** The same model imported with { layout: 'NHWC' } (4-D inputs and outputs NHWC). */
  readonly nhwc: Graph;
  readonly sets: { inputs: OnnxTensor[]; outputs: OnnxTensor[] }[];
}

/** The suite over the quick cases, or (heavy) over the large ones, on the backends named. */
export function testdataSuite(options: { heavy: boolean; backends: readonly string[] }): void {
  const imported: Imported[] = [];
  const skipped: { name: string; reason: string }[] = [];

  let dir = '';
  beforeAll(() => {
    dir = execFileSync(process.execPath, ['scripts/fetch-onnx-testdata.mjs'], { encoding: 'utf8' }).trim().split('\n').pop()!;
    for (const suite of SUITES) {
      for (const c of onnxCases(dir, suite).filter((k) => options.heavy === HEAVY.has(k.name))) {
        const name = `${suite}/${c.name}`;
        try {
          const graph = importOnnx(c.model);
          const nhwc = importOnnx(c.model, { layout: 'NHWC' });
          imported.push({ c, graph, nhwc, sets: c.sets() });
        } catch (e) {
          // Only Tessera's own refusals count as a skip; anything else is a bug.
          if (!(e instanceof TesseraError) && !/tensors are not supported/.test((e as Error).message)) throw e;
          skipped.push({ name, reason: (e as Error).message });
        }
      }
    }
    if (!backendNames().includes('workers')) registerWorkersBackend();
    if (options.backends.includes('webgl') && !backendNames().includes('webgl')) registerBrowserBackends();
    console.log(`ONNX test data: ${imported.length} cases imported, ${skipped.length} skipped:\n${skipped.map((s) => `  ${s.name}: ${s.reason}`).join('\n')}`);
  }, 120_000);

  afterAll(() => disposeBackends());

  /** The reference of each case's graph on each data set, evaluated once (the float64 reference dominates the time). */
  const refs = new Map<Graph, Record<string, RefTensor>[]>();
  function referenceOf(graph: Graph, sets: Imported['sets'], layout: 'NCHW' | 'NHWC'): Record<string, RefTensor>[] {
    let r = refs.get(graph);
    if (!r) refs.set(graph, (r = sets.map((set) => evaluate(graph, feedsOf(graph, set.inputs, layout)))));
    return r;
  }

  /** The test set's inputs by the graph's input names; 4-D ones transposed to NHWC for a graph imported so. */
  function feedsOf(graph: Graph, inputs: readonly OnnxTensor[], layout: 'NCHW' | 'NHWC' = 'NCHW'): Record<string, Float32Array> {
    return Object.fromEntries(
      graph.inputs.map((v, k) => {
        const t = inputs[k];
        return [v.name, Float32Array.from(layout === 'NHWC' && t.shape.length === 4 ? transposeData(t.data, t.shape, [0, 2, 3, 1]) : t.data)];
      }),
    );
  }

  describe(`ONNX backend test data${options.heavy ? ' (the large cases)' : ''} on ${options.backends.join(', ')}`, () => {
    it("the vendored schema is the package's onnx.proto, verbatim", () => {
      expect(ONNX_PROTO).toBe(readFileSync(join(dir, 'onnx', 'onnx.proto'), 'utf8'));
    });

    it('imports every case the issue names, and refuses the others by name (node, op, opset)', () => {
      const names = new Set(imported.map((i) => i.c.name));
      if (!options.heavy) expect(REQUIRED.filter((r) => !names.has(r))).toEqual([]);
      for (const s of skipped) expect(s.reason).toMatch(/^node '.*' \(\w+, opset \d+\): |^input '|tensors are not supported|^output '/);
      expect(imported.length).toBeGreaterThanOrEqual(options.heavy ? HEAVY.size : 35);
    });

    it("every imported case's expected output lies within the reference's bound (factor 1)", () => {
      const failed: string[] = [];
      for (const { c, graph, sets } of imported) {
        for (const [i, set] of sets.entries()) {
          const ref = referenceOf(graph, sets, 'NCHW')[i];
          Object.values(ref).forEach((r, k) => {
            const expected = set.outputs[k];
            const cmp = compareWithin(expected.data, r.value, [r.bound]);
            if (!cmp.ok) failed.push(`${c.name} output ${k}: ${cmp.failures} elements, worst ${cmp.worstRatio.toExponential(2)} of the bound`);
          });
        }
      }
      expect(failed).toEqual([]);
    });

    // The default import (NCHW interface, boundary transposes) and the NHWC one, both on the backend.
    it.each([...options.backends])('every imported case runs on %s within the reference bound', async (backend) => {
      const failed: string[] = [];
      for (const { c, graph: nchw, nhwc, sets } of imported) {
        for (const [graph, layout] of [[nhwc, 'NHWC'], [nchw, 'NCHW']] as const) {
          const session = await createSession(graph, { backend });
          try {
            for (const [i, set] of sets.entries()) {
              const feeds = feedsOf(graph, set.inputs, layout);
              const ref = referenceOf(graph, sets, layout)[i];
              const got = await session.run(feeds);
              for (const [out, r] of Object.entries(ref)) {
                const cmp = compareToReference(got[out], r);
                if (!cmp.ok) failed.push(`${c.name} (${layout}) ${out}: ${cmp.failures} elements, first ${JSON.stringify(cmp.firstFailure)}`);
              }
            }
          } finally {
            session.dispose();
          }
        }
      }
      expect(failed).toEqual([]);
    });
  });
}
