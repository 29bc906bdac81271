import type { RefTensor } from '@tessera/core';
import type { ConformanceCase } from './arbitraries.js';
import type { CaseOutcome } from './check-case.js';
import type { ConformanceOptions } from './runner.js';

/** The agreement of two backends over the cases both ran. */
export interface AgreementCell {
  readonly a: string;
  readonly b: string;
  /** Cases both backends returned outputs for. */
  readonly cases: number;
  /**
   * Worst |out_a - out_b| / (bound_a + bound_b) over every element of those cases, where each
   * backend's bound is the reference's per-element bound (the same for both): 1 means the pair
   * is as far apart as two correct backends can be. NaN vs NaN and equal infinities count 0; a
   * non-finite mismatch counts Infinity. 0 when `cases` is 0.
   */
  readonly worstRatio: number;
  /** Where the worst difference is (property, case index, output, element). */
  readonly worstAt?: { readonly property: string; readonly index: number; readonly output: string; readonly element: number };
}

interface Recorded {
  readonly bound: Readonly<Record<string, Float64Array>>;
  readonly actual: Map<string, Readonly<Record<string, Float32Array>>>;
}

/**
 * Collects the outputs of several backends' runs of the suite with the same seed (hence the
 * same cases, property by property and index by index) and computes their pairwise agreement.
 * Give each run `onCase: collector.onCase(backend)`.
 */
export class AgreementCollector {
  private readonly cases = new Map<string, Recorded>();
  private readonly backends: string[] = [];

  onCase(backend: string): NonNullable<ConformanceOptions['onCase']> {
    if (!this.backends.includes(backend)) this.backends.push(backend);
    return (property: string, index: number, _c: ConformanceCase, outcome: CaseOutcome) => {
      if (!outcome.actual || !outcome.reference) return;
      const key = `${property}#${index}`;
      let rec = this.cases.get(key);
      if (!rec) {
        rec = { bound: boundsOf(outcome.reference), actual: new Map() };
        this.cases.set(key, rec);
      }
      rec.actual.set(backend, snapshot(outcome.actual));
    };
  }

  /** Every pair of the backends seen, in the order they were registered. */
  matrix(): AgreementCell[] {
    return agreementMatrix(this.backends, this.cases);
  }
}

/**
 * Copies of a case's outputs. With bound IO they are the session's own arrays (views of its
 * arena), and a backend may hand that memory to a later session (the workers backend keeps
 * disposed shared memories for the next compile): kept as they are, they would read that later
 * case's values by the time the matrix is computed.
 */
function snapshot(actual: Readonly<Record<string, Float32Array>>): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(actual).map(([k, v]) => [k, v.slice()]));
}

function boundsOf(ref: Readonly<Record<string, RefTensor>>): Record<string, Float64Array> {
  return Object.fromEntries(Object.entries(ref).map(([k, r]) => [k, r.bound]));
}

export function agreementMatrix(backends: readonly string[], cases: ReadonlyMap<string, Recorded>): AgreementCell[] {
  const cells: AgreementCell[] = [];
  for (let i = 0; i < backends.length; i++)
    for (let j = i + 1; j < backends.length; j++) {
      const [a, b] = [backends[i], backends[j]];
      let n = 0;
      let worstRatio = 0;
      let worstAt: AgreementCell['worstAt'];
      for (const [key, rec] of cases) {
        const xa = rec.actual.get(a);
        const xb = rec.actual.get(b);
        if (!xa || !xb) continue;
        n++;
        for (const [out, bound] of Object.entries(rec.bound)) {
          const va = xa[out];
          const vb = xb[out];
          if (!va || !vb) continue;
          for (let e = 0; e < bound.length; e++) {
            const r = pairRatio(va[e], vb[e], 2 * bound[e]);
            if (r > worstRatio) {
              worstRatio = r;
              const at = key.lastIndexOf('#');
              worstAt = { property: key.slice(0, at), index: Number(key.slice(at + 1)), output: out, element: e };
            }
          }
        }
      }
      cells.push({ a, b, cases: n, worstRatio, ...(worstAt ? { worstAt } : {}) });
    }
  return cells;
}

/** As core's `checkElement`: a difference where the reference is exact (bound 0) is infinitely far. */
function pairRatio(x: number, y: number, bound: number): number {
  if (x === y || (Number.isNaN(x) && Number.isNaN(y))) return 0;
  if (!Number.isFinite(x) || !Number.isFinite(y)) return Infinity;
  const d = Math.abs(x - y);
  return bound > 0 ? d / bound : Infinity;
}
