import { checkBias } from './fused_conv2d.js';
import { matmul, matmulAttrs, matmulReference } from './matmul.js';
import { activationAttr, applyEpilogue } from './numerics.js';
import { defineOp } from './spec.js';

/** matmul, then bias_add, then an activation (none, relu, relu6), as one op; created by the fusion pass. */
export const fusedMatmulAttrs = matmulAttrs.extend({ activation: activationAttr }).strict();

export const fusedMatmul = defineOp({
  name: 'fused_matmul',
  inputs: ['a', 'b', 'bias'],
  attrs: fusedMatmulAttrs,
  inferShape([a, b, bias], attrs) {
    const out = matmul.inferShape([a, b], attrs);
    checkBias(bias, out[out.length - 1]);
    return out;
  },
  cost: ([a, b], out, attrs) => matmul.cost([a, b], out, attrs),
  reference([a, b, bias], attrs) {
    const out = matmulReference(a, b, attrs);
    return applyEpilogue(out, bias, attrs.activation);
  },
});
