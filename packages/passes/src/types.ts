import type { EvaluateOptions, Graph } from '@tessera/core';

/** How the factorization pass chooses its ranks (see passes/factorize.ts). */
export type FactorizeOptions =
  | {
      /** Explicit ranks [r1 (input-channel mode), r2 (output-channel mode)], clipped to the filter's channels. */
      readonly ranks: readonly [number, number];
      readonly energy?: undefined;
      /** Apply even where MACs or parameters do not drop (default true: only where both drop). */
      readonly requireSavings?: boolean;
    }
  | {
      /** Per mode, the smallest rank whose kept squared singular values reach this share of the total, in (0, 1]. */
      readonly energy: number;
      readonly ranks?: undefined;
      readonly requireSavings?: boolean;
    };

/** Options every pass receives; a pass ignores what it does not use. */
export interface PassOptions {
  /** Settings of the (lossy, opt-in) factorization pass. */
  readonly factorize?: FactorizeOptions;
  /** Constant folding leaves a node alone if its output has more elements than this (default 2^24). */
  readonly maxFoldElements?: number;
  /** Users' passes may read their own options. */
  readonly [key: string]: unknown;
}

/** What one pass did. */
export interface PassReport {
  readonly pass: string;
  /** False for lossy passes: their results differ from the input graph's by the error they state. */
  readonly exact: boolean;
  /** Places where the pass's patterns matched (including matches it then declined, see `skipped`). */
  readonly matched: number;
  /** Places the pass rewrote (or, for dead-node elimination, nodes removed). */
  readonly rewritten: number;
  readonly nodes: { readonly before: number; readonly after: number };
  readonly params: { readonly before: number; readonly after: number };
  readonly macs: { readonly before: number; readonly after: number };
  /** One line per rewrite, naming the nodes. */
  readonly changes: readonly string[];
  /** One line per match that was not rewritten, saying why. */
  readonly skipped: readonly string[];
  /** Anything else the pass wants said (a lossy pass states its error here). */
  readonly notes: readonly string[];
  /** Pass-specific data (the factorization's per-filter ranks and errors). */
  readonly details?: unknown;
  /** Set by the PassManager. */
  readonly timeMs?: number;
  /** Set by the PassManager in verify mode. */
  readonly verification?: Verification;
}

/** Translation validation of one pass: the graph evaluated before and after on the same random inputs. */
export interface Verification {
  /** False for a lossy pass (not compared) and when verification was off. */
  readonly compared: boolean;
  readonly ok: boolean;
  /** The first element outside |after - before| <= boundBefore + boundAfter. */
  readonly mismatch?: Mismatch;
  /** Largest (|after - before|) / (boundBefore + boundAfter) seen; <= 1 when ok. */
  readonly worstRatio: number;
}

export interface Mismatch {
  readonly output: string;
  readonly index: number;
  readonly before: number;
  readonly after: number;
  readonly bound: number;
}

/**
 * A rewrite's stated allowance, as a widening of the rewritten graph's reference bounds node by
 * node (core's `EvaluateOptions.widen`): verify mode evaluates the rewritten graph with it, so the
 * allowance reaches the outputs through later nodes like any operand error.
 */
export type BoundAllowance = NonNullable<EvaluateOptions['widen']>;

export interface PassResult {
  readonly graph: Graph;
  readonly report: PassReport;
  /** For an exact pass that rounds new constants once (batch-norm folding): its allowance. */
  readonly allowance?: BoundAllowance;
}

/** A pass: a pure function from a graph to a graph plus a report. */
export interface Pass {
  readonly name: string;
  /** Exact passes keep every result within the float32 bound; lossy ones are opt-in. */
  readonly exact: boolean;
  /** One line saying what it does (for listings). */
  readonly description?: string;
  run(graph: Graph, options: PassOptions): PassResult;
}
