import { z } from 'zod';
import { OpError } from '../errors.js';
import { expectRank, shapeStr, type Shape } from '../shape.js';
import { DotAccumulator, refTensorWithLikely } from './numerics.js';
import { defineOp, type RefTensor } from './spec.js';
import { pair, paddingSchema, window2d, type Padding, type Window2d } from './window.js';

/** tf.nn.conv2d: input NHWC, filter HWIO. */
export const conv2dAttrs = z
  .object({
    strides: pair.default([1, 1]),
    padding: paddingSchema,
    dilations: pair.default([1, 1]),
  })
  .strict();
export type Conv2dAttrs = z.output<typeof conv2dAttrs>;

/** Geometry of a conv2d, resolved once from shapes and attributes (also used by backends). */
export interface ConvGeometry {
  readonly batch: number;
  readonly inH: number;
  readonly inW: number;
  readonly inC: number;
  readonly kH: number;
  readonly kW: number;
  readonly outC: number;
  readonly outH: number;
  readonly outW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly dilationH: number;
  readonly dilationW: number;
  readonly padTop: number;
  readonly padLeft: number;
  readonly padBottom: number;
  readonly padRight: number;
}

/**
 * Geometry from an HWIO filter, or with `depthwise` a [KH, KW, C, multiplier] filter (outC = C x
 * multiplier): the window and the checks are the same.
 */
export function convGeometry(input: Shape, filter: Shape, attrs: Conv2dAttrs, depthwise = false): ConvGeometry {
  expectRank(input, [4], 'input');
  expectRank(filter, [4], 'filter');
  const [batch, inH, inW, inC] = input as [number, number, number, number];
  const [kH, kW, fC, fOut] = filter as [number, number, number, number];
  if (fC !== inC) {
    throw new OpError(
      `filter in_channels ${fC} does not match input channels ${inC} (input ${shapeStr(input)} NHWC, filter ${shapeStr(filter)} ${depthwise ? '[KH, KW, C, multiplier]' : 'HWIO'})`,
    );
  }
  return { batch, inH, inW, inC, kH, kW, outC: depthwise ? inC * fOut : fOut, ...resolveWindow(inH, inW, kH, kW, attrs) };
}

/** The window part of the geometry, shared with maxpool. */
export function resolveWindow(
  inH: number,
  inW: number,
  kH: number,
  kW: number,
  attrs: { strides: readonly [number, number]; dilations: readonly [number, number]; padding: Padding },
) {
  const { strides, dilations } = attrs;
  if ((strides[0] > 1 || strides[1] > 1) && (dilations[0] > 1 || dilations[1] > 1)) {
    throw new OpError(
      `strides ${shapeStr(strides)} and dilations ${shapeStr(dilations)} cannot both exceed 1 (TensorFlow rejects this combination too)`,
    );
  }
  const win: Window2d = window2d(inH, inW, kH, kW, strides, dilations, attrs.padding);
  return {
    outH: win.h.out,
    outW: win.w.out,
    strideH: strides[0],
    strideW: strides[1],
    dilationH: dilations[0],
    dilationW: dilations[1],
    padTop: win.h.padBefore,
    padBottom: win.h.padAfter,
    padLeft: win.w.padBefore,
    padRight: win.w.padAfter,
  };
}

/**
 * Float64 conv2d with error bounds. Padded cells are zeros that take part in the products
 * (0 * w), as in TensorFlow's CPU kernel: a non-finite weight at the border yields NaN.
 * With `groups` > 1 a grouped conv (depthwise: groups = C): output channel co reads only the
 * inC / groups input channels of its group, from a filter [KH, KW, inC / groups, outC].
 */
export function conv2dReference(x: RefTensor, f: RefTensor, g: ConvGeometry, groups = 1): RefTensor {
  const out = refTensorWithLikely([g.batch, g.outH, g.outW, g.outC]);
  const inPerGroup = g.inC / groups;
  const outPerGroup = g.outC / groups;
  const k = g.kH * g.kW * inPerGroup;
  const acc = new DotAccumulator();
  let o = 0;
  for (let n = 0; n < g.batch; n++) {
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ox = 0; ox < g.outW; ox++) {
        for (let co = 0; co < g.outC; co++, o++) {
          acc.reset();
          const cStart = Math.floor(co / outPerGroup) * inPerGroup;
          for (let ky = 0; ky < g.kH; ky++) {
            const iy = oy * g.strideH + ky * g.dilationH - g.padTop;
            for (let kx = 0; kx < g.kW; kx++) {
              const ix = ox * g.strideW + kx * g.dilationW - g.padLeft;
              const inside = iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW;
              const xBase = ((n * g.inH + iy) * g.inW + ix) * g.inC + cStart;
              const fBase = (ky * g.kW + kx) * inPerGroup * g.outC + co;
              for (let ci = 0; ci < inPerGroup; ci++) {
                const fi = fBase + ci * g.outC;
                acc.add(inside ? x.value[xBase + ci] : 0, inside ? x.bound[xBase + ci] : 0, f.value[fi], f.bound[fi]);
              }
            }
          }
          out.value[o] = acc.value;
          out.bound[o] = acc.bound(k);
          out.likely[o] = acc.likely(k);
        }
      }
    }
  }
  return out;
}

export const conv2d = defineOp({
  name: 'conv2d',
  inputs: ['input', 'filter'],
  attrs: conv2dAttrs,
  inferShape([input, filter], attrs) {
    const g = convGeometry(input, filter, attrs);
    return [g.batch, g.outH, g.outW, g.outC];
  },
  cost([, filter], output) {
    const [kH, kW, inC] = filter;
    return { macs: output[0] * output[1] * output[2] * output[3] * kH * kW * inC };
  },
  reference([x, f], attrs) {
    return conv2dReference(x, f, convGeometry(x.shape, f.shape, attrs));
  },
});
