import { compareToReference, type Feeds, type Graph, type RefTensor } from '@tessera/core';
import type { CaseOutcome } from './check-case.js';
import { describeComparison, formatRatio, type Comparison } from './compare.js';

/*
 * An independent oracle: another implementation of the ops (TensorFlow.js) that each case's
 * float64 reference is checked against, so that a mistake the reference shares with the
 * backends (they share core's window geometry) is still caught.
 */

/** Runs a graph elsewhere; its float32 outputs must lie within the reference's bounds. */
export interface Oracle {
  readonly name: string;
  run(graph: Graph, feeds: Feeds): Promise<Readonly<Record<string, Float32Array>>>;
}

/**
 * Compares the oracle's outputs with the reference, element by element within the reference's
 * own bound (the oracle computes in float32 like any correct backend). Only finite elements are
 * compared: NaN / Inf propagation and the sign of zero are the reference's own specification
 * (docs/SEMANTICS.md), where TensorFlow.js kernels differ on purpose. Undefined when they agree.
 */
export async function checkAgainstOracle(oracle: Oracle, graph: Graph, feeds: Feeds, ref: Readonly<Record<string, RefTensor>>): Promise<CaseOutcome | undefined> {
  let got: Readonly<Record<string, Float32Array>>;
  try {
    got = await oracle.run(graph, feeds);
  } catch {
    // The oracle refusing a graph says nothing about the reference: not a failure.
    return undefined;
  }
  for (const name of Object.keys(graph.outputs)) {
    const r = ref[name];
    const o = got[name];
    if (!o || o.length !== r.value.length) return undefined;
    const masked = Float64Array.from(o, (v, i) => (Number.isFinite(v) && Number.isFinite(r.value[i]) ? v : r.value[i]));
    const cmp: Comparison = compareToReference(masked, { shape: r.shape, value: r.value, bound: r.bound });
    if (!cmp.ok) {
      return {
        ok: false,
        worstRatio: cmp.worstRatio,
        outputs: { [name]: cmp },
        failingOutput: name,
        reference: ref,
        summary: `the reference disagrees with the ${oracle.name} oracle on output '${name}' [${r.shape.join(',')}]: ${describeComparison(cmp, r.shape)} (oracle's worst ${formatRatio(cmp.worstRatio)} of the bound)`,
      };
    }
  }
  return undefined;
}
