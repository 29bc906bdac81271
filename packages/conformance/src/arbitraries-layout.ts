import { numel } from '@tessera/core';
import fc from 'fast-check';
import { anyShapeArb, dim, holderArb, opData } from './arbitraries.js';
import { CaseBuilder, divisors } from './case.js';
import { permFromKeys } from './graph-geometry.js';
import { fitBudget, sizeArb } from './sizes.js';

/*
 * Case generators of the ops that move data without arithmetic: reshape, slice, pad, concat,
 * transpose (their entries in arbitraries.ts' OP_CASES).
 */

// ---------------------------------------------------------------------------------------------
// reshape

/** A target shape for `total` elements: rank 1..4 from free choices, with an optional -1. */
export function reshapeTarget(total: number, rank: number, picks: readonly number[], inferAt: number): number[] {
  const dims: number[] = [];
  let rest = total;
  for (let i = 0; i < rank - 1; i++) {
    const ds = divisors(rest);
    const d = ds[picks[i] % ds.length];
    dims.push(d);
    rest /= d;
  }
  dims.push(rest);
  if (inferAt >= 0 && inferAt < rank) dims[inferAt] = -1;
  return dims;
}

export function reshapeCase() {
  return fc
    .record({
      shape: anyShapeArb(8),
      rank: fc.integer({ min: 1, max: 4 }),
      picks: fc.tuple(fc.nat(50), fc.nat(50), fc.nat(50)),
      inferAt: fc.integer({ min: -1, max: 3 }),
      x: opData(),
    })
    .map((p) => {
      const c = new CaseBuilder('reshape_case');
      const x = c.input('x', p.shape, p.x);
      return c.build({ y: c.b.reshape(x, reshapeTarget(numel(p.shape), p.rank, p.picks, p.inferAt)) });
    });
}


// ---------------------------------------------------------------------------------------------
// slice

export function sliceCase() {
  return fc
    .record({
      shape: anyShapeArb(10),
      axes: fc.array(fc.record({ stride: dim(3), begin: fc.nat(20), size: fc.nat(20) }), { minLength: 4, maxLength: 4 }),
      x: opData(),
    })
    .map((p) => {
      const begin: number[] = [];
      const size: number[] = [];
      const strides: number[] = [];
      p.shape.forEach((d, i) => {
        const a = p.axes[i];
        const b0 = a.begin % d;
        const most = Math.floor((d - 1 - b0) / a.stride) + 1;
        begin.push(b0);
        size.push(1 + (a.size % most));
        strides.push(a.stride);
      });
      const c = new CaseBuilder('slice_case');
      const x = c.input('x', p.shape, p.x);
      return c.build({ y: c.b.slice(x, { begin, size, strides }) });
    });
}


// ---------------------------------------------------------------------------------------------
// pad

export function padCase() {
  return fc
    .record({
      shape: fc.array(dim(6), { minLength: 0, maxLength: 4 }),
      pads: fc.array(fc.tuple(fc.nat(3), fc.nat(3)), { minLength: 4, maxLength: 4 }),
      value: fc.constantFrom(0, 0, 0, 1, -1, 6, -0, 0.1, -2.5e-30, 1e30),
      x: opData(),
    })
    .map((p) => {
      const c = new CaseBuilder('pad_case');
      const x = c.input('x', p.shape, p.x);
      const paddings = p.shape.map((_, i) => p.pads[i]);
      return c.build({ y: c.b.pad(x, { paddings, ...(p.value === 0 && !Object.is(p.value, -0) ? {} : { value: p.value }) }) });
    });
}

// ---------------------------------------------------------------------------------------------
// concat

export function concatCase() {
  return fc
    .record({
      shape: fc.array(dim(5), { minLength: 1, maxLength: 4 }),
      axis: fc.nat(3),
      negative: fc.boolean(),
      sizes: fc.array(dim(5), { minLength: 1, maxLength: 5 }),
      holders: fc.array(holderArb, { minLength: 5, maxLength: 5 }),
      repeat: fc.constantFrom(false, false, false, false, true),
      data: fc.array(opData(), { minLength: 5, maxLength: 5 }),
    })
    .map((p) => {
      const rank = p.shape.length;
      const axis = p.axis % rank;
      const c = new CaseBuilder('concat_case');
      const values = p.sizes.map((d, k) => {
        const shape = p.shape.map((s, i) => (i === axis ? d : s));
        // Operand 0 is an input; later ones inputs or constants; sometimes a value repeated.
        if (k > 0 && p.repeat && d === p.sizes[0]) return undefined;
        return c.operand(`v${k}`, shape, p.data[k], k === 0 ? 'input' : p.holders[k]);
      });
      const operands = values.map((v) => v ?? values[0]!);
      return c.build({ y: c.b.concat(operands, { axis: p.negative ? axis - rank : axis }) });
    });
}

// ---------------------------------------------------------------------------------------------
// transpose

/** Elements of one transpose case at most: a few tiles of the cpu kernel along two axes. */
const TRANSPOSE_ELEMENTS = 1 << 16;

export function transposeCase() {
  return fc
    .record({
      // Ranks 1..6: small dimensions and 1s (axes kernels drop), some at and around block edges.
      shape: fc.array(fc.oneof({ arbitrary: dim(5), weight: 3 }, { arbitrary: sizeArb(520, 4), weight: 1 }), { minLength: 1, maxLength: 6 }),
      focus: fc.nat(5),
      keys: fc.array(fc.nat(100), { minLength: 6, maxLength: 6 }),
      // TF's default (axes reversed) 1 in 5.
      reversed: fc.constantFrom(false, false, false, false, true),
      x: opData(),
    })
    .map((p) => {
      const keep = String(p.focus % p.shape.length);
      const fit = fitBudget(Object.fromEntries(p.shape.map((d, i) => [String(i), d])), keep, TRANSPOSE_ELEMENTS);
      const shape = p.shape.map((_, i) => fit[String(i)]);
      const c = new CaseBuilder('transpose_case');
      const x = c.input('x', shape, p.x);
      return c.build({ y: c.b.transpose(x, p.reversed ? undefined : permFromKeys(p.keys, shape.length)) });
    });
}
