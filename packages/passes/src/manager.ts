import { Graph, TesseraError, evaluate, sameShape, shapeStr, type RefTensor } from '@tessera/core';
import type { Container } from 'inversify';
import { compareResults, randomFeeds } from './compare.js';
import { defaultPassContainer, registeredPasses } from './container.js';
import type { FactorizeOptions, Mismatch, Pass, PassOptions, PassReport, Verification } from './types.js';

export type OptLevel = 'O0' | 'O1' | 'O2';

/**
 * The named pipelines. O1: exact cleanups, the layout pass (an NCHW import's transposes cancelled or
 * folded, its reshapes then folded), batch-norm and pad folding, then fusion (folding first,
 * so a conv -> batch_norm -> relu becomes conv -> bias_add -> relu and fuses into one node, and a
 * ResNet bottleneck into three fused convs, the last with its shortcut as residual). O2: O1 plus
 * linear conv composition and 1x1 conv -> matmul lowering (then the reshapes that lowering leaves
 * back to back are folded).
 * The lossy factorization is never in a pipeline unless asked for (`factorize` option).
 */
export const PIPELINES: Readonly<Record<OptLevel, readonly string[]>> = {
  O0: [],
  O1: ['dce', 'constant-fold', 'layout', 'reshape-fold', 'fold-batch-norm', 'fold-pad', 'fuse', 'dce'],
  O2: ['dce', 'constant-fold', 'layout', 'reshape-fold', 'fold-batch-norm', 'fold-pad', 'compose', 'fuse', 'lower-1x1', 'reshape-fold', 'dce'],
};

export interface VerifyOptions {
  /** Seed of the random inputs (uniform in [-1, 1)); default 1. */
  readonly seed?: number;
  /** Input sets evaluated per pass; default 1. */
  readonly samples?: number;
  /** Stop the pipeline at the first pass that changed results; default false. */
  readonly stopOnMismatch?: boolean;
}

export interface RunOptions extends PassOptions {
  /** A pipeline by name: 'O0' | 'O1' | 'O2' or one added with `definePipeline`. Default 'O1'. */
  readonly level?: string;
  /** An explicit list of pass names; overrides `level`. */
  readonly passes?: readonly string[];
  /** Adds the (lossy) factorization to the pipeline, after fusion and before lowering. */
  readonly factorize?: FactorizeOptions;
  /**
   * Translation validation: evaluate the graph before and after every pass with the float64
   * reference on random inputs and require |after - before| <= boundBefore + boundAfter per element,
   * boundAfter including the allowance a pass states (`PassResult.allowance`); lossy passes are
   * evaluated but not compared.
   */
  readonly verify?: boolean | VerifyOptions;
}

export interface PipelineResult {
  readonly graph: Graph;
  /** The pass names that ran, in order. */
  readonly pipeline: readonly string[];
  readonly reports: readonly PassReport[];
  readonly timeMs: number;
  /** Present in verify mode. */
  readonly verification?: {
    readonly ok: boolean;
    /** Number of (pass, input set) pairs compared. */
    readonly compared: number;
    /** The first pass that changed results, and where. */
    readonly firstMismatch?: Mismatch & { readonly pass: string };
  };
}

/** Runs named pipelines of passes taken from an inversify container. */
export class PassManager {
  private readonly pipelines = new Map<string, readonly string[]>(Object.entries(PIPELINES));

  constructor(readonly container: Container = defaultPassContainer) {}

  /** The passes available, by name (the container's, resolved now: passes registered later are seen). */
  passes(): Map<string, Pass> {
    return registeredPasses(this.container);
  }

  pipelineNames(): string[] {
    return [...this.pipelines.keys()];
  }

  /** Adds (or replaces) a named pipeline. Pass names are checked when it runs. */
  definePipeline(name: string, passes: readonly string[]): void {
    this.pipelines.set(name, [...passes]);
  }

  /** The pass names a run with these options would execute. */
  pipeline(options: Pick<RunOptions, 'level' | 'passes' | 'factorize'> = {}): string[] {
    let names: string[];
    if (options.passes) names = [...options.passes];
    else {
      const level = options.level ?? 'O1';
      const p = this.pipelines.get(level);
      if (!p) throw new TesseraError(`unknown pipeline '${level}' (known: ${this.pipelineNames().join(', ')})`);
      names = [...p];
    }
    if (options.factorize && !names.includes('factorize')) {
      const fuse = names.lastIndexOf('fuse');
      if (fuse >= 0) names.splice(fuse + 1, 0, 'factorize', 'fuse');
      else {
        const lower = names.indexOf('lower-1x1');
        names.splice(lower >= 0 ? lower : names.length, 0, 'factorize');
      }
    }
    return names;
  }

  run(graph: Graph, options: RunOptions = {}): PipelineResult {
    const start = performance.now();
    const available = this.passes();
    const names = this.pipeline(options);
    const passes = names.map((n) => {
      const p = available.get(n);
      if (!p) throw new TesseraError(`unknown pass '${n}' (registered: ${[...available.keys()].join(', ')})`);
      return p;
    });

    const verify = options.verify ? (options.verify === true ? {} : options.verify) : undefined;
    const feeds = verify ? Array.from({ length: verify.samples ?? 1 }, (_, i) => randomFeeds(graph, (verify.seed ?? 1) + i)) : [];
    let results: Record<string, RefTensor>[] = feeds.map((f) => evaluate(graph, f));
    let compared = 0;
    let firstMismatch: (Mismatch & { pass: string }) | undefined;

    const reports: PassReport[] = [];
    let current = graph;
    for (const pass of passes) {
      const t0 = performance.now();
      let out;
      try {
        out = pass.run(current, options);
      } catch (e) {
        if (e instanceof Error) e.message = `pass '${pass.name}': ${e.message}`;
        throw e;
      }
      const timeMs = performance.now() - t0;
      checkPassResult(pass, current, out.graph);
      let verification: Verification | undefined;
      if (verify) {
        if (out.graph === current) verification = { compared: pass.exact, ok: true, worstRatio: 0 };
        else {
          const next = feeds.map((f) => evaluate(out.graph, f, { widen: out.allowance }));
          if (pass.exact) {
            let worst = 0;
            let mismatch: Mismatch | undefined;
            for (let i = 0; i < feeds.length && !mismatch; i++) {
              const c = compareResults(results[i], next[i]);
              compared++;
              worst = Math.max(worst, c.worstRatio);
              mismatch = c.mismatch;
            }
            verification = { compared: true, ok: !mismatch, worstRatio: worst, ...(mismatch ? { mismatch } : {}) };
            if (mismatch && !firstMismatch) firstMismatch = { pass: pass.name, ...mismatch };
          } else {
            verification = { compared: false, ok: true, worstRatio: 0 };
          }
          results = next;
        }
      }
      reports.push({ ...out.report, timeMs, ...(verification ? { verification } : {}) });
      current = out.graph;
      if (firstMismatch && verify?.stopOnMismatch) break;
    }
    return {
      graph: current,
      pipeline: names,
      reports,
      timeMs: performance.now() - start,
      ...(verify ? { verification: { ok: !firstMismatch, compared, ...(firstMismatch ? { firstMismatch } : {}) } } : {}),
    };
  }
}

/**
 * The graph a pass returns is verified: a Graph (its constructor checked every node, shape and
 * edge and sorted it) with the same interface as the pass's input: inputs and outputs by name and shape.
 */
function checkPassResult(pass: Pass, before: Graph, after: unknown): asserts after is Graph {
  if (!(after instanceof Graph)) throw new TesseraError(`pass '${pass.name}' did not return a Graph`);
  if (after === before) return;
  const fail = (what: string) => {
    throw new TesseraError(`pass '${pass.name}' changed the graph's interface: ${what}`);
  };
  if (after.inputs.length !== before.inputs.length) fail(`${before.inputs.length} inputs became ${after.inputs.length}`);
  before.inputs.forEach((v, i) => {
    const w = after.inputs[i];
    if (w.name !== v.name || !sameShape(w.shape, v.shape)) fail(`input '${v.name}' ${shapeStr(v.shape)} became '${w.name}' ${shapeStr(w.shape)}`);
  });
  const outsBefore = Object.keys(before.outputs);
  if (outsBefore.length !== Object.keys(after.outputs).length) fail(`the outputs changed from ${outsBefore.join(', ')} to ${Object.keys(after.outputs).join(', ')}`);
  for (const out of outsBefore) {
    const v = after.outputs[out];
    if (v === undefined) fail(`output '${out}' is missing`);
    const a = after.value(v).shape;
    const b = before.value(before.outputs[out]).shape;
    if (!sameShape(a, b)) fail(`output '${out}' ${shapeStr(b)} became ${shapeStr(a)}`);
  }
}

/** Runs a pipeline with the default container: `optimize(graph, { level: 'O2' })`. */
export function optimize(graph: Graph, options: RunOptions = {}): PipelineResult {
  return new PassManager().run(graph, options);
}
