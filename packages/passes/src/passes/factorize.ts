import { type Graph, type Node } from '@tessera/core';
import { makeReport } from '../report.js';
import { applyRules, constant, any, op, type Emitter, type Match, type RewriteRule } from '../rewrite.js';
import { factorError, reconstructFilter, tucker2, tuckerFilters, type FactorError, type RankChoice } from '../tucker.js';
import type { FactorizeOptions, Pass, PassOptions, PassResult } from '../types.js';
import { convActivation, convAttrs } from './conv-util.js';

/** What the factorization did to one conv. */
export interface FactorizationDetail extends FactorError {
  readonly node: string;
  /** [K1, K2, C, S]. */
  readonly filter: readonly number[];
  readonly ranks: readonly [number, number];
  /** Share of the squared singular values kept, per mode. */
  readonly keptEnergy: readonly [number, number];
  readonly params: { readonly before: number; readonly after: number };
  readonly macs: { readonly before: number; readonly after: number };
}

const DEFAULT: FactorizeOptions = { energy: 0.95 };

/**
 * Bottleneck factorization (lossy, opt-in): a KxK conv (K > 1) with a constant filter W [K1, K2, C, S]
 * becomes 1x1 (C -> r1, no bias) -> K1xK2 (r1 -> r2, the original strides / padding / dilations)
 * -> 1x1 (r2 -> S, with the original bias and activation if the conv was fused (one with a residual
 * has 4 operands and is left alone); a following bias_add stays
 * where it is) by a Tucker-2 decomposition (truncated HOSVD, see tucker.ts). The first 1x1 maps
 * padded zeros to zeros, so padding behaves as before. Applied only where both MACs and parameters
 * drop (unless `requireSavings: false`). The report states, per conv, the ranks, the relative
 * Frobenius error of the filter and the HOSVD bound.
 */
export const bottleneckFactorization: Pass = {
  name: 'factorize',
  exact: false,
  description: 'LOSSY: Tucker-2 (HOSVD) factorization of KxK convs with constant filters into 1x1 -> KxK -> 1x1',
  run(graph: Graph, options: PassOptions): PassResult {
    const settings = options.factorize ?? DEFAULT;
    const choice: RankChoice = settings.ranks ? { ranks: settings.ranks } : { energy: settings.energy ?? 0.95 };
    if ('energy' in choice && !(choice.energy > 0 && choice.energy <= 1)) throw new Error(`factorize: energy must be in (0, 1], got ${choice.energy}`);
    const requireSavings = settings.requireSavings ?? true;
    const plans = new Map<string, Plan>();
    const details: FactorizationDetail[] = [];
    const condition = (m: Match, g: Graph): boolean | string => {
      const plan = planFactorization(m, g, choice, requireSavings);
      if (typeof plan !== 'object') return plan;
      plans.set(m.root.name, plan);
      return true;
    };
    const replace: RewriteRule['replace'] = (m, emit) => {
      const plan = plans.get(m.root.name)!;
      details.push(plan.detail);
      return emitFactors(m, emit, plan.filters);
    };
    const describe = (m: { root: Node }) => describeDetail(plans.get(m.root.name)!.detail);

    const rules: RewriteRule[] = [
      { name: 'tucker2 conv2d', pattern: op('conv2d', any('x'), constant('w')), condition, replace, describe },
      { name: 'tucker2 fused_conv2d', pattern: op('fused_conv2d', any('x'), constant('w'), any('bias')), condition, replace, describe },
    ];
    // One sweep: the factors' KxK core must not be factorized again.
    const r = applyRules(graph, rules, { maxSweeps: 1 });
    const how = 'ranks' in choice ? `ranks (${choice.ranks.join(', ')})` : `energy ${choice.energy} per mode`;
    const notes = [
      `LOSSY pass (opt-in), ${how}: results change by at most conv(|x|, |W - W_hat|) per output of each factorized conv; ` +
        `the filter error ||W - W_hat||_F <= sqrt(discarded squared singular values of both modes) (+ ${details.length ? details[0].slackRel.toExponential(1) : '~1e-7'} relative for float32 storage)`,
    ];
    return {
      graph: r.graph,
      report: makeReport(bottleneckFactorization, graph, r.graph, {
        matched: r.matched,
        rewritten: r.rewritten,
        changes: r.changes,
        skipped: r.skipped,
        notes,
        details,
      }),
    };
  },
};

interface Plan {
  readonly detail: FactorizationDetail;
  readonly filters: ReturnType<typeof tuckerFilters>;
}

/** The factors of a matched conv and what they cost, or false / why not when they do not pay. */
function planFactorization(m: Match, g: Graph, choice: RankChoice, requireSavings: boolean): Plan | boolean | string {
  const conv = m.root;
  const w = g.constants.get(m.values.w)!;
  const [k1, k2, c, s] = w.shape;
  if (k1 === 1 && k2 === 1) return false;
  const t = tucker2(w, choice);
  const [r1, r2] = t.ranks;
  const [n, h, wd] = g.value(m.values.x).shape;
  const [, oh, ow] = conv.output.shape;
  const params = { before: k1 * k2 * c * s, after: c * r1 + k1 * k2 * r1 * r2 + r2 * s };
  const macs = { before: n * oh * ow * k1 * k2 * c * s, after: n * h * wd * c * r1 + n * oh * ow * (k1 * k2 * r1 * r2 + r2 * s) };
  if (requireSavings && (params.after >= params.before || macs.after >= macs.before)) {
    return `ranks (${r1}, ${r2}) of ${k1}x${k2}x${c}x${s} would not lower both params (${params.before} -> ${params.after}) and MACs (${macs.before} -> ${macs.after})`;
  }
  const filters = tuckerFilters(t);
  const err = factorError(w.data, t, reconstructFilter(filters));
  const total = (v: readonly number[]) => v.reduce((a, b) => a + b, 0) || 1;
  const kept = (v: readonly number[], r: number) => v.slice(0, r).reduce((a, b) => a + b, 0) / total(v);
  const keptEnergy: [number, number] = [kept(t.sv2[0], r1), kept(t.sv2[1], r2)];
  return { filters, detail: { node: conv.name, filter: [k1, k2, c, s], ranks: [r1, r2], keptEnergy, params, macs, ...err } };
}

/** 1x1 reduce -> KxK core (the conv's geometry) -> 1x1 expand (the conv's bias and activation if fused). */
function emitFactors(m: Match, emit: Emitter, filters: Plan['filters']): string {
  const conv = m.root;
  const a = convAttrs(conv);
  const pointwise = { strides: [1, 1], padding: 'VALID', dilations: [1, 1] };
  const reduce = emit.node('conv2d', [m.values.x, emit.constant(`${conv.name}/reduce/filter`, filters.reduce)], pointwise, `${conv.name}/reduce`);
  const core = emit.node(
    'conv2d',
    [reduce, emit.constant(`${conv.name}/core/filter`, filters.core)],
    { strides: a.strides, padding: a.padding, dilations: a.dilations },
    `${conv.name}/core`,
  );
  const expandFilter = emit.constant(`${conv.name}/expand/filter`, filters.expand);
  return conv.op === 'fused_conv2d'
    ? emit.node('fused_conv2d', [core, expandFilter, m.values.bias], { ...pointwise, activation: convActivation(conv) }, conv.name)
    : emit.node('conv2d', [core, expandFilter], pointwise, conv.name);
}

function describeDetail(d: FactorizationDetail): string {
  return (
    `factorized '${d.node}' ${d.filter.join('x')} with ranks (${d.ranks[0]}, ${d.ranks[1]}): ` +
    `params ${d.params.before} -> ${d.params.after}, MACs ${d.macs.before} -> ${d.macs.after}, ` +
    `relative filter error ${d.relError.toExponential(3)} (HOSVD bound ${d.boundRel.toExponential(3)})`
  );
}
