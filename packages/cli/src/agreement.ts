import type { RefTensor } from '@tessera/core';

/** Worst |actual - reference| as a fraction of each element's bound; NaN and ±Inf must match exactly. */
export function agreement(actual: Float32Array, ref: RefTensor): { ok: boolean; worst: number } {
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = ref.value[i];
    const a = actual[i];
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (!Object.is(Math.fround(e), a) && !(Number.isNaN(e) && Number.isNaN(a))) return { ok: false, worst: Infinity };
      continue;
    }
    worst = Math.max(worst, Math.abs(a - e) / ref.bound[i]);
  }
  return { ok: worst <= 1, worst };
}
