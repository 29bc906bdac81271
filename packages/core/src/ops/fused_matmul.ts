import { z } from 'zod';
import { checkBias } from './fused_conv2d.js';
import { matmul, matmulAttrs, matmulReference } from './matmul.js';
import { applyEpilogue } from './numerics.js';
import { defineOp } from './spec.js';

/** matmul, then bias_add, then (optionally) relu, as one op; created by the fusion pass. */
export const fusedMatmul = defineOp({
  name: 'fused_matmul',
  inputs: ['a', 'b', 'bias'],
  attrs: matmulAttrs.extend({ relu: z.boolean().default(false) }).strict(),
  inferShape([a, b, bias], attrs) {
    const out = matmul.inferShape([a, b], attrs);
    checkBias(bias, out[out.length - 1]);
    return out;
  },
  cost: ([a, b], out, attrs) => matmul.cost([a, b], out, attrs),
  reference([a, b, bias], attrs) {
    const out = matmulReference(a, b, attrs);
    return applyEpilogue(out, bias, attrs.relu ? 'relu' : 'none');
  },
});
