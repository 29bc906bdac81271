import { Graph, Tensor, opSpec, prng, type Node } from '@tessera/core';

/** Transposes whose removal is exact and that the layout pass must not leave: on a constant, on a transpose, or moving no element. */
export function removableTransposes(g: Graph): string[] {
  return g.nodes
    .filter((n) => n.op === 'transpose')
    .filter((n) => {
      const x = n.inputs[0];
      if (g.kind(x) === 'constant' || g.producer(x)?.op === 'transpose') return true;
      const shape = g.value(x).shape;
      const perm = (n.attrs.perm as number[] | undefined) ?? shape.map((_, i) => shape.length - 1 - i);
      // Moves no element: the axes of size > 1 stay in order.
      const moved = perm.filter((p) => shape[p] > 1);
      return moved.every((p, i) => i === 0 || p > moved[i - 1]);
    })
    .map((n) => n.name);
}

/** A random permutation of 0..rank-1 that is not the identity of the axes > 1 (when the shape allows one). */
function randomPerm(rank: number, rand: () => number): number[] {
  const p = [...Array(rank).keys()];
  for (let i = rank - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/**
 * `graph` with transpose pairs inserted on `count` random edges (a node's operand of rank >= 2
 * that is a node output or an input): transpose(perm), then 0..2 layout-agnostic ops (relu,
 * relu6, multiplication by 2, addition of a constant over the last axis, bias_add when perm keeps
 * the last axis), then the inverse transpose. Results do not change but by those ops.
 */
export function insertTransposePairs(graph: Graph, seed: number, count: number): Graph {
  const rand = prng(seed);
  const nodes: Node[] = [...graph.nodes];
  const constants = new Map(graph.constants);
  let fresh = 0;
  const make = (op: string, inputs: string[], attrs: Record<string, unknown>): string => {
    const name = `lt${fresh++}_${op}`;
    const spec = opSpec(op);
    const parsed = spec.attrs.parse(attrs) as Record<string, unknown>;
    const shapeOf = (v: string) => constants.get(v)?.shape ?? nodes.find((n) => n.name === v)?.output.shape ?? graph.value(v).shape;
    const shape = spec.inferShape(inputs.map(shapeOf), parsed);
    nodes.push({ name, op, attrs: parsed, inputs, output: { name, shape, dtype: 'float32' } });
    return name;
  };
  const constant = (shape: number[], value: (i: number) => number): string => {
    const name = `lc${fresh++}`;
    const t = new Tensor(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => value(i)));
    constants.set(name, t);
    return name;
  };
  for (let k = 0; k < count; k++) {
    const edges = nodes.flatMap((n, ni) =>
      // Original operands only (not the pairs' own values), and not constants.
      n.inputs.map((v, oi) => ({ ni, oi, v })).filter(({ v }) => !v.startsWith('lt') && !v.startsWith('lc') && graph.kind(v) !== 'constant'),
    );
    const usable = edges.filter(({ v }) => (nodes.find((n) => n.name === v)?.output.shape ?? graph.value(v).shape).length >= 2);
    if (usable.length === 0) break;
    const { ni, oi, v } = usable[Math.floor(rand() * usable.length)];
    const shape = nodes.find((n) => n.name === v)?.output.shape ?? graph.value(v).shape;
    const perm = randomPerm(shape.length, rand);
    let y = make('transpose', [v], { perm });
    const tShape = perm.map((p) => shape[p]);
    const last = tShape[tShape.length - 1];
    for (let j = Math.floor(rand() * 3); j > 0; j--) {
      const kind = Math.floor(rand() * 5);
      if (kind === 0) y = make('relu', [y], {});
      else if (kind === 1) y = make('relu6', [y], {});
      else if (kind === 2) y = make('mul', [y, constant([], () => 2)], {});
      else if (kind === 3) y = make('add', [constant([last], (i) => 0.25 * (i + 1)), y], {});
      else if (perm[perm.length - 1] === perm.length - 1) y = make('bias_add', [y, constant([last], (i) => -0.5 * i)], {});
    }
    const inv = new Array<number>(perm.length);
    perm.forEach((p, a) => (inv[p] = a));
    y = make('transpose', [y], { perm: inv });
    const target = nodes[ni];
    nodes[ni] = { ...target, inputs: target.inputs.map((x, i) => (i === oi ? y : x)) };
  }
  return graph.with({ nodes, constants });
}
