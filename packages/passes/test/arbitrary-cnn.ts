import type { Activation, GraphBuilder, Padding, SymbolicValue } from '@tessera/core';
import type { Step } from './arbitrary.js';

/*
 * The real-CNN steps of the passes' random graphs: products followed by batch_norm, zero pads
 * before convs, bias + relu6, residual adds, and nodes already fused with every activation, with
 * and without a residual. Each step also draws the near misses the passes must leave alone (a
 * non-zero pad, a broadcast residual, an activation before the batch norm).
 */

export const CNN_STEP_KINDS = ['product-bn', 'pad-conv', 'product-bias-act', 'residual-add', 'fused-any'] as const;
export type CnnStepKind = (typeof CNN_STEP_KINDS)[number];

/** What a step builds with (the interpreter's pools and constant makers). */
export interface StepContext {
  readonly g: GraphBuilder;
  /** A constant uniform in [-scale, scale), optionally mapped. */
  tensor(shape: number[], scale: number, map?: (v: number) => number): SymbolicValue;
  filter(k: number, cin: number, cout: number): SymbolicValue;
  pick4(i: number): SymbolicValue;
  push(v: SymbolicValue): void;
  paddingFor(sel: number, k: number, dil: number, x: SymbolicValue): Padding;
}

const ACTS: readonly Activation[] = ['none', 'relu', 'relu6'];

function activate(g: GraphBuilder, y: SymbolicValue, act: Activation): SymbolicValue {
  return act === 'relu' ? g.relu(y) : act === 'relu6' ? g.relu6(y) : y;
}

type Product = 'conv2d' | 'depthwise_conv2d' | 'matmul';

/** A product of `x` in one of its forms: plain, + bias_add, or fused with `act`; channels last. */
function product(c: StepContext, x: SymbolicValue, kind: Product, form: number, act: Activation, sel: number): SymbolicValue {
  const { g } = c;
  const cin = x.shape[x.shape.length - 1];
  const k = kind === 'matmul' ? 1 : [1, 3][sel % 2];
  const cout = kind === 'depthwise_conv2d' ? cin * (1 + (sel % 2)) : 1 + (sel % 5);
  const w = kind === 'matmul' ? c.tensor([cin, cout], 1 / Math.sqrt(cin)) : kind === 'conv2d' ? c.filter(k, cin, cout) : c.tensor([k, k, cin, cout / cin], 1 / k);
  const geometry = kind === 'matmul' ? {} : { strides: [1, 1] as [number, number], padding: c.paddingFor(sel >> 2, k, 1, x) };
  const bias = () => c.tensor([cout], 0.5);
  if (form % 3 === 2) {
    const fused = kind === 'matmul' ? 'fused_matmul' : kind === 'conv2d' ? 'fused_conv2d' : 'fused_depthwise_conv2d';
    return g.op(fused, [x, w, bias()], { ...geometry, activation: act } as never);
  }
  let y = g.op(kind, [x, w], geometry as never);
  if (form % 3 === 1) y = g.biasAdd(y, bias());
  return activate(g, y, act);
}

/** batch_norm with constant statistics (variance in [0.25, 1.25), mixed-sign scale). */
function batchNorm(c: StepContext, y: SymbolicValue, sel: number): SymbolicValue {
  const ch = y.shape[y.shape.length - 1];
  const variance = c.tensor([ch], 1, (v) => 0.25 + Math.abs(v));
  return c.g.batchNorm(y, c.tensor([ch], 0.5), variance, c.tensor([ch], 0.5), c.tensor([ch], 2), { epsilon: [1e-3, 1.001e-5][sel % 2] });
}

/** Runs one real-CNN step. */
export function cnnStep(kind: CnnStepKind, s: Step, c: StepContext): void {
  const { g } = c;
  switch (kind) {
    case 'product-bn': {
      const kinds: Product[] = ['conv2d', 'depthwise_conv2d', 'matmul'];
      const pk = kinds[s.b % 3];
      const x = pk === 'matmul' ? g.reshape(c.pick4(s.a), [-1, c.pick4(s.a).shape[3]]) : c.pick4(s.a);
      // Mostly foldable (no activation before the batch norm); sometimes relu in between (not foldable).
      const before = s.e % 7 === 0 ? 'relu' : 'none';
      const y = batchNorm(c, product(c, x, pk, s.c, before, s.d), s.e);
      c.push(activate(g, y, ACTS[s.e % 3]));
      break;
    }
    case 'pad-conv': {
      const x = c.pick4(s.a);
      const [t, b, l, r] = [s.b % 3, (s.b >> 2) % 2, s.c % 2, (s.c >> 1) % 3];
      // Mostly zeros on H and W; sometimes a non-zero value or a channel pad (left alone).
      const value = s.e % 5 === 0 ? 0.5 : 0;
      const channels = s.e % 7 === 0 ? 1 : 0;
      const p = g.pad(x, { paddings: [[0, 0], [t, b], [l, r], [0, channels]], value });
      const kinds: Product[] = ['conv2d', 'depthwise_conv2d'];
      c.push(product(c, p, kinds[s.d % 2], s.d >> 1, ACTS[s.e % 3], s.d));
      break;
    }
    case 'product-bias-act': {
      const kinds: Product[] = ['conv2d', 'depthwise_conv2d', 'matmul'];
      const pk = kinds[s.b % 3];
      const x = pk === 'matmul' ? g.reshape(c.pick4(s.a), [-1, c.pick4(s.a).shape[3]]) : c.pick4(s.a);
      c.push(product(c, x, pk, 1, ACTS[1 + (s.e % 2)], s.c));
      break;
    }
    case 'residual-add': {
      const x = c.pick4(s.a);
      const y = product(c, x, 'conv2d', s.b % 2, 'none', s.c);
      // The shortcut: the conv's input when shapes allow, a same-shaped value, or a broadcast one.
      const same = [x, c.pick4(s.d)].find((v) => v.shape.join() === y.shape.join());
      const shortcut = s.e % 5 === 0 || !same ? c.tensor([y.shape[3]], 1) : same;
      const sum = s.e % 2 ? g.add(y, shortcut) : g.add(shortcut, y);
      c.push(activate(g, sum, ACTS[s.b % 3]));
      break;
    }
    case 'fused-any': {
      const x = c.pick4(s.a);
      const cout = 1 + (s.c % 4);
      const k = s.b % 2 ? 1 : 3;
      const f = c.filter(k, x.shape[3], cout);
      const attrs = { strides: [1, 1] as [number, number], padding: 'SAME' as const, activation: ACTS[s.d % 3] };
      const same = c.pick4(s.e);
      const residual = s.e % 2 === 0 && same.shape.join() === [...x.shape.slice(0, 3), cout].join() ? same : undefined;
      const y = g.fusedConv2d(x, f, c.tensor([cout], 0.5), attrs, residual);
      c.push(activate(g, y, ACTS[(s.d >> 2) % 3]));
      break;
    }
  }
}
