import { GraphBuilder, Tensor, numel, type Graph, type Shape, type SymbolicValue } from '@tessera/core';
import { fillData, type DataSpec } from './data.js';

/** One conformance case: a graph and a Float32Array per graph input. */
export interface ConformanceCase {
  readonly graph: Graph;
  readonly feeds: Record<string, Float32Array>;
}

/** Where a weight, filter or bias lives: a graph constant or a graph input. */
export type Holder = 'constant' | 'input';

/**
 * Builds a graph and its feeds together: `operand` adds a tensor of the given shape as a graph
 * input (data in the feeds) or a constant (data in the graph), filled as its DataSpec says.
 */
export class CaseBuilder {
  readonly b: GraphBuilder;
  readonly feeds: Record<string, Float32Array> = {};
  constructor(name: string) {
    this.b = new GraphBuilder(name);
  }
  operand(name: string, shape: Shape, spec: DataSpec, holder: Holder): SymbolicValue {
    return this.operandData(name, shape, fillData(numel(shape), spec), holder);
  }
  /** As `operand`, with the data given (numel(shape) values). */
  operandData(name: string, shape: Shape, data: Float32Array, holder: Holder): SymbolicValue {
    if (holder === 'constant') return this.b.constant(name, new Tensor(shape, data));
    this.feeds[name] = data;
    return this.b.input(name, shape);
  }
  input(name: string, shape: Shape, spec: DataSpec): SymbolicValue {
    return this.operand(name, shape, spec, 'input');
  }
  build(outputs: Record<string, SymbolicValue>): ConformanceCase {
    return { graph: this.b.build(outputs), feeds: this.feeds };
  }
}


/** Divisors of n, ascending. */
export function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
}
