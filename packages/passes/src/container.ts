import { Container, type BindingIdentifier } from 'inversify';
import { linearComposition } from './passes/compose.js';
import { constantFolding } from './passes/constant-fold.js';
import { deadNodeElimination } from './passes/dce.js';
import { foldBatchNorm } from './passes/fold-batch-norm.js';
import { foldPad } from './passes/fold-pad.js';
import { bottleneckFactorization } from './passes/factorize.js';
import { convFusion } from './passes/fuse.js';
import { layout } from './passes/layout.js';
import { lower1x1 } from './passes/lower-1x1.js';
import { reshapeFolding } from './passes/reshape-fold.js';
import type { Pass } from './types.js';

/** Service identifier of passes in an inversify container: every registered pass is bound to it. */
export const PASSES: symbol = Symbol.for('tessera.Pass');

/** Every built-in pass. */
export const BUILTIN_PASSES: readonly Pass[] = [
  deadNodeElimination,
  constantFolding,
  reshapeFolding,
  layout,
  foldBatchNorm,
  foldPad,
  linearComposition,
  convFusion,
  lower1x1,
  bottleneckFactorization,
];

const bindings = new WeakMap<Container, Map<string, BindingIdentifier>>();

/** Binds a pass under PASSES. Registering a name again replaces the earlier pass of that name. */
export function registerPass(container: Container, pass: Pass): void {
  if (!pass || typeof pass.name !== 'string' || pass.name === '' || typeof pass.run !== 'function' || typeof pass.exact !== 'boolean') {
    throw new Error(`registerPass: a pass needs a non-empty name, a boolean 'exact' and a run(graph, options) function`);
  }
  if (!bindings.has(container)) bindings.set(container, new Map());
  const ids = bindings.get(container)!;
  const previous = ids.get(pass.name);
  if (previous) container.unbind(previous);
  ids.set(pass.name, container.bind<Pass>(PASSES).toConstantValue(pass).getIdentifier());
}

/** The passes a container holds, by name. */
export function registeredPasses(container: Container): Map<string, Pass> {
  const list = container.isBound(PASSES) ? container.getAll<Pass>(PASSES) : [];
  return new Map(list.map((p) => [p.name, p]));
}

/** A new container with the built-in passes registered. */
export function createPassContainer(): Container {
  const container = new Container();
  for (const p of BUILTIN_PASSES) registerPass(container, p);
  return container;
}

/** The container the PassManager uses unless given another; register your own passes here. */
export const defaultPassContainer: Container = createPassContainer();
