/**
 * The mutation test: the conformance suite with its DEFAULT run counts (100 cases per property,
 * 100 random graphs) must catch every deliberately faulty kernel, scheduler and rewrite in
 * tests/mutants/. Each shrunk failure is written as a reproduction file, which must replay to the
 * same failure on the mutant and pass on the correct cpu backend (or the correct pass).
 * The report (printed) lists each mutant and the shrunk case that caught it.
 */
import '@tessera/backend-cpu';
import {
  replayRepro,
  runConformanceToReport,
  runTransformConformanceToReport,
  tfjsOracle,
  withVariants,
  writeRepro,
  type PropertyReport,
} from '@tessera/conformance';
import { convFusion, foldBatchNorm, linearComposition } from '@tessera/passes';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FULL_RANK_FACTORIZE, MUTANTS, factorize, gemmCopy, mutantContainer, strassenCopy, type Mutant } from './mutants/index.js';

const SEED = process.env.TESSERA_SEED !== undefined ? Number(process.env.TESSERA_SEED) : 20_240_611;
const dir = mkdtempSync(join(tmpdir(), 'tessera-mutants-'));
const rows: string[] = [];
const caught = new Set<string>();

/** The factorization applies to single convs with constant filters; its stated error is checked there. */
const FACTORIZE_PROPERTIES = { ops: ['conv2d', 'fused_conv2d'], graphs: 0 };

/** A backend mutant as the CLI checks a backend: with each variant it declares (e.g. '-split'), and the oracle it needs. */
async function runBackendSuite(m: Extract<Mutant, { kind: 'backend' }>): Promise<{ ok: boolean; properties: PropertyReport[] }> {
  const container = mutantContainer(m.name, m.spec);
  const oracle = m.needs?.oracle === 'tfjs' ? await tfjsOracle() : undefined;
  const properties: PropertyReport[] = [];
  for (const backend of withVariants([m.name], container)) {
    const r = await runConformanceToReport({ backend, container, seed: SEED, reference: m.reference, oracle });
    properties.push(...r.properties);
  }
  return { ok: properties.every((p) => !p.failure), properties };
}

async function runSuite(m: Mutant): Promise<{ ok: boolean; properties: readonly PropertyReport[] }> {
  if (m.kind === 'backend') return runBackendSuite(m);
  return runTransformConformanceToReport({
    transform: m.transform,
    transformOptions: m.transformOptions,
    seed: SEED,
    ...(m.transform.name.startsWith('factorize') ? FACTORIZE_PROPERTIES : {}),
  });
}

describe(`mutation test: every faulty kernel is caught with the default run counts (seed ${SEED})`, () => {
  afterAll(() => {
    console.log(`mutation score: ${caught.size}/${MUTANTS.length} mutants caught\nmutants and the shrunk cases that caught them (repro files in ${dir}):\n${rows.join('\n')}`);
  });

  it('there are at least 21 mutants, named as the bugs of issue 21 (a)-(g)', () => {
    expect(MUTANTS.length).toBeGreaterThanOrEqual(21);
    for (const tag of ['(a)', '(b)', '(c)', '(d)', '(e)', '(f)', '(g)']) expect(MUTANTS.some((m) => m.bug.startsWith(tag)), tag).toBe(true);
  });

  it('the GEMM copy the blocking mutants are made from passes without its bug (the control)', async () => {
    const r = await runConformanceToReport({ backend: 'gemm-copy', container: mutantContainer('gemm-copy', gemmCopy), seed: SEED, ops: ['conv2d', 'fused_conv2d', 'matmul', 'fused_matmul'], graphs: 0, special: [] });
    expect(r.ok, r.properties.find((p) => p.failure)?.failure?.message).toBe(true);
  });

  it('one level of Strassen as the cpu backend runs it, reported as such, passes by its widened bound (the control of strassen-sign-flipped)', async () => {
    const r = await runConformanceToReport({ backend: 'strassen-copy', container: mutantContainer('strassen-copy', strassenCopy), seed: SEED, ops: ['matmul', 'fused_matmul'], graphs: 0 });
    expect(r.ok, r.properties.find((p) => p.failure)?.failure?.message).toBe(true);
  });

  for (const m of MUTANTS) {
    it(`catches ${m.name}: ${m.bug}`, async () => {
      const report = await runSuite(m);
      expect(report.ok, `${m.name} was not caught`).toBe(false);
      caught.add(m.name);
      const failures = report.properties.filter((p) => p.failure).map((p) => p.failure!);
      const first = failures[0];
      // Caught by a wrong value, not by a crash or a refused graph.
      for (const f of failures) expect(f.outcome.error, `${f.property}: ${f.outcome.summary}`).toBeUndefined();
      const file = await writeRepro(first, { dir, ...(m.kind === 'pass' && m.transformOptions ? { transformOptions: m.transformOptions } : {}) });
      rows.push(
        `- ${m.name} (${m.bug}): caught by ${failures.map((f) => `${f.property} [${f.shrinks} shrinks]`).join(', ')}\n` +
          `    shrunk ${first.property} case: ${first.graphObject.nodes.map((n) => n.op).join(' -> ')}; inputs ${first.graphObject.inputs.map((v) => `[${v.shape.join(',')}]`).join(' ')}\n` +
          `    ${first.outcome.summary}\n    repro ${file}`,
      );

      // The file replays to the same failure on the mutant...
      // A mistake the reference shares is not in the file's reference: the file replays as a plain backend failure.
      if (m.kind === 'backend' && m.reference) return;
      const mutantContainerFor = m.kind === 'backend' ? mutantContainer(m.name, m.spec) : undefined;
      if (mutantContainerFor) withVariants([m.name], mutantContainerFor);
      const transforms = m.kind === 'pass' ? { [m.transform.name]: m.transform, fuse: convFusion, factorize } : undefined;
      const [again] = await replayRepro(file, { container: mutantContainerFor, transforms });
      expect(again.ok).toBe(false);
      expect(again.reproduced, `${again.outcome.summary}\n  vs recorded\n${first.outcome.summary}`).toBe(true);
      if (again.sameActual !== undefined) expect(again.sameActual).toBe(true);

      // ...and passes on the correct cpu backend (and, for a rewrite, with the correct pass).
      const pass = m.kind === 'pass' ? m.transform.name : '';
      const control = pass.startsWith('factorize') ? 'pass:factorize' : pass.startsWith('compose') ? 'pass:compose' : 'pass:fuse';
      const correct = m.kind === 'backend' ? ['cpu'] : ['cpu', control];
      const fixed = await replayRepro(file, { backends: correct, transforms: transforms && { ...transforms, compose: linearComposition } });
      for (const r of fixed) expect(r.ok, `${r.backend}: ${r.outcome.summary}`).toBe(true);
    });
  }

  it('the correct passes pass the same checks (the controls)', async () => {
    const fusion = await runTransformConformanceToReport({ transform: convFusion, seed: SEED });
    expect(fusion.ok, fusion.properties.find((p) => p.failure)?.failure?.message).toBe(true);
    const compose = await runTransformConformanceToReport({ transform: linearComposition, seed: SEED });
    expect(compose.ok, compose.properties.find((p) => p.failure)?.failure?.message).toBe(true);
    const fold = await runTransformConformanceToReport({ transform: foldBatchNorm, seed: SEED });
    expect(fold.ok, fold.properties.find((p) => p.failure)?.failure?.message).toBe(true);
    const factor = await runTransformConformanceToReport({ transform: factorize, transformOptions: FULL_RANK_FACTORIZE, seed: SEED, ...FACTORIZE_PROPERTIES });
    expect(factor.ok, factor.properties.find((p) => p.failure)?.failure?.message).toBe(true);
  });
});
