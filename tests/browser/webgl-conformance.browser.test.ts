import { WebGLBackend } from '@tessera/backend-webgl';
import { BOUND_IO_PROPERTY, GRAPHS_PROPERTY, runConformanceToReport } from '@tessera/conformance';
import { createContainer, disposeBackends, registerBackend } from '@tessera/runtime';
import { expect, it } from 'vitest';

const SEED = 20_261_128;

function webglContainer() {
  const c = createContainer();
  registerBackend(c, 'webgl', () => new WebGLBackend());
  return c;
}

/** The conformance suite on `webgl`: >= 50 cases per op and >= 50 random graphs, the same derived float32 bounds as cpu. */
it('webgl agrees with the reference within the derived bounds: 50 cases per op, 50 random graphs (25 of them through bound IO), 50 non-finite and 50 extreme-magnitude cases', async () => {
  const c = webglContainer();
  try {
    const report = await runConformanceToReport({ backend: 'webgl', container: c, seed: SEED, runs: 50, graphs: 50, special: ['nonfinite', 'extreme'] });
    const failed = report.properties.filter((p) => p.failure);
    expect(failed.map((p) => `${p.property}: ${p.failure!.message}`)).toEqual([]);
    expect(report.properties.map((p) => p.property)).toContain(GRAPHS_PROPERTY);
    expect(report.properties.map((p) => p.property)).toContain(BOUND_IO_PROPERTY);
    for (const p of report.properties) expect(p.casesRun, p.property).toBeGreaterThanOrEqual(p.property === BOUND_IO_PROPERTY ? 25 : 50);
    // A correct backend stays within the likely (probabilistic) bound at these counts.
    expect(report.likely.casesBeyond).toBe(0);
    console.log(
      `webgl conformance: ${report.passed}/${report.casesRun} cases, worst ratio ${report.worstRatio.toFixed(3)}, ${(report.durationMs / 1000).toFixed(1)} s; ` +
        report.properties.map((p) => `${p.property} ${p.passed}/${p.casesRun}`).join(', '),
    );
  } finally {
    await disposeBackends(c);
  }
}, 600_000);
